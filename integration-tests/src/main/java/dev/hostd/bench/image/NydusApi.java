package dev.hostd.bench.image;

import dev.hostd.image.ImageConverter;
import dev.hostd.image.ImageMount;
import dev.hostd.image.ImageRegistry;
import dev.hostd.image.ImageSource;
import dev.hostd.image.MountOptions;
import dev.hostd.image.backend.FetchPolicy;
import dev.hostd.image.format.Bootstrap;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * nydus-mount through its public Java API, in this JVM, as hostd uses it: convert + push, then
 * {@link ImageMount} from the registry (bootstrap fetched into a work directory where the trace is
 * kept too) or from the converted directory.
 */
final class NydusApi implements LazyImages {
    private static final long CACHE_MAX = 8L << 30;

    @Override
    public String unavailableReason() {
        if (!Files.exists(Path.of("/dev/fuse"))) {
            return "no /dev/fuse on this host";
        }
        boolean libfuse = Stream.of("/usr/lib/x86_64-linux-gnu/libfuse.so.2", "/lib/x86_64-linux-gnu/libfuse.so.2", "/usr/lib/libfuse.so.2")
                .anyMatch(p -> Files.exists(Path.of(p)));
        return libfuse ? null : "libfuse.so.2 not installed (Debian libfuse2, installed by scripts/setup)";
    }

    @Override
    public Prepared prepare(Path ociLayout, Path out, String registryUrl, String repo) throws Exception {
        ImageConverter.Options options = ImageConverter.Options.defaults()
                .withChunkSize(Integer.getInteger("bench.chunk-kib", ImageConverter.DEFAULT_CHUNK_SIZE >> 10) << 10)
                .withLz4Level(Integer.getInteger("bench.lz4-level", ImageConverter.DEFAULT_LZ4_LEVEL));
        long t0 = System.nanoTime();
        ImageConverter.Result r = ImageConverter.convert(ociLayout, out, options);
        double convertSeconds = (System.nanoTime() - t0) / 1e9;
        ImageRegistry.push(out, null, URI.create(registryUrl), repo, "latest");
        long bytes;
        try (Stream<Path> blobs = Files.list(r.blobDir().resolve("sha256"))) {
            bytes = blobs.mapToLong(p -> p.toFile().length()).sum();
        }
        return new Prepared(out, repo, bytes + Files.size(r.bootstrapFile()), convertSeconds, Files.size(r.bootstrapFile()));
    }

    @Override
    public Mount mount(Prepared prepared, String registryUrl, Path cacheDir, Path mountpoint, Trace trace) throws Exception {
        ImageSource source = registryUrl == null
                ? new ImageSource.Local(prepared.dir(), null)
                : new ImageSource.Registry(URI.create(registryUrl), prepared.repo(), "latest", workDir(prepared));
        if (trace != Trace.NONE && registryUrl != null) {
            // From an empty host but for the trace: the bootstrap is fetched again, the trace kept beside it.
            try (Stream<Path> dirs = Files.list(workDir(prepared))) {
                for (Path d : dirs.toList()) {
                    Files.deleteIfExists(d.resolve(Bootstrap.FILE_NAME));
                }
            }
        }
        MountOptions options = MountOptions.defaults().withCache(cacheDir, CACHE_MAX)
                .withTrace(trace == Trace.RECORD, trace == Trace.PREFETCH).withReadLog(trace == Trace.RECORD);
        Integer mergeKib = Integer.getInteger("bench.merge-kib");
        if (mergeKib != null) { // how far a foreground miss reads ahead: fewer round trips against more bytes
            FetchPolicy d = options.fetch();
            options = options.withFetch(new FetchPolicy(d.maxInFlight(), d.prefetchInFlight(), mergeKib << 10, d.prefetchMergeBytes(),
                    d.attempts(), d.backoff(), d.maxBackoff()));
        }
        ImageMount m = ImageMount.mount(source, mountpoint, options);
        return new Mount() {
            @Override
            public String stats() {
                var s = m.stats();
                return s.requests() + " requests, " + s.fetchedChunks() + " chunks, " + s.fetchedBytes() / 1_000_000 + " MB fetched";
            }

            @Override
            public long tracedBytes() {
                Path file = m.imageDir().resolve(dev.hostd.image.trace.Trace.FILE_NAME);
                if (!Files.isRegularFile(file)) {
                    return 0;
                }
                var chunks = m.image().chunks();
                long sum = 0;
                for (int c : dev.hostd.image.trace.Trace.read(file, m.image()).chunks()) {
                    sum += chunks.get(c).size();
                }
                return sum;
            }

            @Override
            public long readBytes(long granularity) {
                return m.readLog() == null ? -1 : m.readLog().touchedBytes(m.image(), granularity);
            }

            @Override
            public void close() {
                m.close();
            }
        };
    }

    private static Path workDir(Prepared prepared) throws java.io.IOException {
        return Files.createDirectories(prepared.dir().resolveSibling(prepared.dir().getFileName() + "-work"));
    }
}
