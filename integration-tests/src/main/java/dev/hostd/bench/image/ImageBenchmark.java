package dev.hostd.bench.image;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The image benchmark of issue 4, in one run. The images of {@code scripts/build-bench-images} are
 * pushed to Debian's docker-registry in a network namespace, behind a veth shaped with tc tbf and a
 * proxy that adds an RTT. For each image, from empty caches: (1) full pull (every gzip layer
 * downloaded, unpacked by tar, then /app/ready run in a chroot), (2) lazy (nydus-mount from the
 * registry, recording the start-up trace), (3) lazy + prefetch of that trace (chunk cache emptied).
 * Then LZ4 vs JDK gzip decompression and cached sequential reads through FUSE vs local disk.
 * Prints a table and a JSON line and writes docs/benchmarks/image.md. Run: {@code scripts/bench-image}.
 */
public final class ImageBenchmark {
    public static void main(String[] args) throws Exception {
        Path cache = Path.of(System.getProperty("bench.images", "/var/cache/hostd-bench/images"));
        List<String> images = Arrays.asList(System.getProperty("bench.image-names", "flask,sklearn,chromium").split(","));
        int mbit = Integer.getInteger("bench.mbit", 100);
        int rttMs = Integer.getInteger("bench.rtt-ms", 10);
        Path report = Path.of(System.getProperty("bench.report", "docs/benchmarks/image.md"));
        LazyImages lazy = new NydusApi();
        String pending = lazy.unavailableReason();
        Path work = Files.createTempDirectory(Path.of("/var/tmp"), "hostd-image-bench");
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("link_mbit", mbit);
        json.put("added_rtt_ms", rttMs);
        json.put("chunk_kib", Integer.getInteger("bench.chunk-kib", dev.hostd.image.ImageConverter.DEFAULT_CHUNK_SIZE >> 10));
        json.put("lz4_level", Integer.getInteger("bench.lz4-level", dev.hostd.image.ImageConverter.DEFAULT_LZ4_LEVEL));
        json.put("merge_kib", Integer.getInteger("bench.merge-kib", dev.hostd.image.backend.FetchPolicy.defaults().mergeBytes() >> 10));
        boolean dropped = PageCache.drop();
        json.put("page_cache_dropped", dropped);
        String loadBefore = loadAverage();
        List<ImageRun> runs = new ArrayList<>();
        List<String> failures = new ArrayList<>(); // parts after the starts: reported, not fatal to the starts' figures
        CodecThroughput.Result codecs = null;
        ReadFigures reads = null;
        Teardown.track(() -> Cmd.quietly("rm", "-rf", "--one-file-system", work.toString()));
        try {
            ShapedLink link = Teardown.track(ShapedLink.create());
            Teardown.track(LocalRegistry.start(link, work.resolve("registry")));
            DelayProxy proxy = Teardown.track(new DelayProxy(new InetSocketAddress(ShapedLink.INSIDE_ADDRESS, LocalRegistry.PORT), rttMs));
            RegistryClient direct = new RegistryClient(LocalRegistry.directUrl());
            Map<String, LazyImages.Prepared> prepared = new LinkedHashMap<>();
            for (String name : images) {
                Path layout = cache.resolve(name).toRealPath();
                direct.push(OciImage.read(layout, "latest"), "bench/" + name, "latest");
                if (pending == null) {
                    prepared.put(name, lazy.prepare(layout, work.resolve("nydus-" + name), LocalRegistry.directUrl(), "bench/nydus-" + name));
                }
                System.err.println("pushed " + name + " (" + layout.getFileName() + ")");
            }
            if (pending == null) {
                warmUp(lazy, prepared.values().iterator().next(), work);
            }
            link.shape(mbit);
            RegistryClient shaped = new RegistryClient(proxy.url());
            for (String name : images) {
                runs.add(runImage(name, cache.resolve(name).toRealPath(), work, shaped, proxy, lazy, prepared.get(name)));
                System.err.println("done " + name + ": " + runs.getLast());
            }
            if (Boolean.getBoolean("bench.starts-only")) { // iterating on the starts: skip the codec and read rows
                failures.add("codec and read rows skipped (-Dbench.starts-only)");
            } else {
                Path biggest = cache.resolve(images.getLast()).toRealPath();
                OciImage img = OciImage.read(biggest, "latest");
                OciImage.Blob largestLayer = img.layers().stream().max((a, b) -> Long.compare(a.size(), b.size())).orElseThrow();
                try {
                    codecs = CodecThroughput.measure(largestLayer.in(biggest), 256 << 20, 5);
                } catch (Exception | OutOfMemoryError e) {
                    failures.add("codec throughput failed: " + e);
                }
                try {
                    reads = ReadFigures.measure(work, biggest, lazy, prepared.get(images.getLast()));
                } catch (Exception e) {
                    failures.add("read throughput failed: " + e);
                }
            }
        } finally {
            Teardown.closeAll();
        }
        // Other work on the host slows both sides of each ratio; the report shows how busy it was.
        json.put("load_average_1min_before", "\"" + loadBefore + "\"");
        json.put("load_average_1min_after", "\"" + loadAverage() + "\"");
        ImageReport.fill(json, runs, codecs, reads);
        if (!failures.isEmpty()) {
            failures.forEach(System.err::println);
            pending = (pending == null ? "" : pending + "; ") + String.join("; ", failures);
        }
        String table = ImageReport.table(runs, codecs, reads, pending);
        String line = ImageReport.json(json);
        System.out.println(table);
        System.out.println(line);
        ImageReport.writeMarkdown(report, table, line, runs, codecs, reads, pending, mbit, rttMs, dropped);
    }

    private static ImageRun runImage(String name, Path layout, Path work, RegistryClient shaped, DelayProxy proxy, LazyImages lazy,
                                     LazyImages.Prepared prepared) throws Exception {
        String repo = "bench/" + name;
        Path dir = Files.createDirectories(work.resolve(name));
        PageCache.drop();
        long t0 = System.nanoTime();
        FullPull.Result pull = FullPull.pull(shaped, repo, "latest", dir, dir.resolve("rootfs"));
        String out = ChrootRun.ready(dir.resolve("rootfs"), dir.resolve("run-full"));
        double fullReady = ms(t0);
        Cmd.run("rm", "-rf", "--one-file-system", dir.resolve("rootfs").toString());
        OciImage image = OciImage.read(layout, "latest");
        if (prepared == null) {
            return new ImageRun(name, pull.bytes(), image.layers().size(), pull.downloadedAtMs(), pull.unpackedAtMs(), fullReady,
                    null, null, null, null, null, null, null, null, out, null);
        }
        LazyStart first = lazyStart(lazy, prepared, proxy, dir, "lazy", LazyImages.Trace.RECORD);
        LazyStart second = lazyStart(lazy, prepared, proxy, dir, "prefetch", LazyImages.Trace.PREFETCH);
        return new ImageRun(name, pull.bytes(), image.layers().size(), pull.downloadedAtMs(), pull.unpackedAtMs(), fullReady,
                first.mountMs, first.readyMs, first.bytes, first.tracedBytes, second.mountMs, second.readyMs, second.bytes,
                prepared.blobBytes(), out, new ImageRun.Conversion(Integer.getInteger("bench.chunk-kib",
                dev.hostd.image.ImageConverter.DEFAULT_CHUNK_SIZE >> 10), Integer.getInteger("bench.lz4-level",
                dev.hostd.image.ImageConverter.DEFAULT_LZ4_LEVEL), prepared.convertSeconds(), prepared.bootstrapBytes(),
                first.read4k, first.read64k));
    }

    /**
     * hostd mounts images from a long-running, warmed-up JVM: before timing anything, one image is
     * mounted from its local directory and started once, so the lazy rows do not pay for the first
     * JIT compilation of the mount's read path (the full pull runs tar and Python, nothing to warm).
     */
    private static void warmUp(LazyImages lazy, LazyImages.Prepared prepared, Path work) throws Exception {
        Path mnt = Files.createDirectories(work.resolve("warm-mnt"));
        LazyImages.Mount m = Teardown.track(lazy.mount(prepared, null, work.resolve("warm-chunks"), mnt, LazyImages.Trace.NONE));
        try {
            for (int i = 0; i < 3; i++) {
                ChrootRun.ready(mnt, work.resolve("warm-run-" + i));
            }
        } finally {
            Teardown.close(m);
            Cmd.quietly("rm", "-rf", "--one-file-system", work.resolve("warm-chunks").toString());
        }
    }

    private record LazyStart(double mountMs, double readyMs, long bytes, long tracedBytes, long read4k, long read64k) {}

    /** A lazy start from an empty chunk cache and page cache; bytes = what came through the proxy. */
    private static LazyStart lazyStart(LazyImages lazy, LazyImages.Prepared prepared, DelayProxy proxy, Path dir, String label,
                                       LazyImages.Trace trace) throws Exception {
        Path cacheDir = dir.resolve("chunks-" + label);
        Path mnt = Files.createDirectories(dir.resolve("mnt-" + label));
        PageCache.drop();
        long bytes0 = proxy.downstreamBytes();
        long t0 = System.nanoTime();
        LazyImages.Mount m = Teardown.track(lazy.mount(prepared, proxy.url(), cacheDir, mnt, trace));
        try {
            double mounted = ms(t0);
            ChrootRun.ready(mnt, dir.resolve("run-" + label));
            double ready = ms(t0);
            long bytes = proxy.downstreamBytes() - bytes0;
            System.err.printf("%s %s: mounted %.0f ms, ready %.0f ms, %s, %d connections so far%n", dir.getFileName(), label, mounted, ready,
                    m.stats(), proxy.connections());
            long read4k = m.readBytes(4 << 10);
            long read64k = m.readBytes(64 << 10);
            Teardown.close(m);
            return new LazyStart(mounted, ready, bytes, m.tracedBytes(), read4k, read64k);
        } finally {
            Teardown.close(m);
            Cmd.quietly("rm", "-rf", "--one-file-system", cacheDir.toString());
        }
    }

    static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
        } catch (IOException e) {
            return "unknown";
        }
    }

    static double ms(long t0) {
        return (System.nanoTime() - t0) / 1e6;
    }

    /** Cached sequential reads of the image's largest files: FUSE mount (local backend) vs the unpacked directory. */
    record ReadFigures(int files, long bytes, double fuseWarmMBps, double localWarmMBps, Double fuseChunkCacheMBps,
                       Double localDiskMBps, String pending) {
        static ReadFigures measure(Path work, Path layout, LazyImages lazy, LazyImages.Prepared prepared) throws Exception {
            Path local = Files.createDirectories(work.resolve("reads-local"));
            for (OciImage.Blob layer : OciImage.read(layout, "latest").layers()) {
                LayerUnpacker.unpack(layer.in(layout), local);
            }
            List<Path> files = ReadThroughput.largestFiles(local, 8 << 20, 512L << 20);
            long bytes = ReadThroughput.totalSize(local, files);
            ReadThroughput.megabytesPerSecond(local, files);
            double localWarm = ReadThroughput.megabytesPerSecond(local, files);
            PageCache.drop();
            double localDisk = ReadThroughput.megabytesPerSecond(local, files);
            if (prepared == null) {
                return new ReadFigures(files.size(), bytes, Double.NaN, localWarm, null, localDisk, lazy.unavailableReason());
            }
            Path mnt = Files.createDirectories(work.resolve("reads-mnt"));
            LazyImages.Mount m = Teardown.track(lazy.mount(prepared, null, work.resolve("reads-chunks"), mnt, LazyImages.Trace.NONE));
            try {
                ReadThroughput.megabytesPerSecond(mnt, files); // fetch every chunk into the chunk cache and page cache
                double fuseWarm = ReadThroughput.megabytesPerSecond(mnt, files);
                PageCache.drop();
                double fuseChunkCache = ReadThroughput.megabytesPerSecond(mnt, files);
                return new ReadFigures(files.size(), bytes, fuseWarm, localWarm, fuseChunkCache, localDisk, null);
            } finally {
                Teardown.close(m);
            }
        }
    }

    /** Empties the kernel page cache (dentries, inodes, pages), so each start reads from disk or network. */
    static final class PageCache {
        private PageCache() {}

        static boolean drop() {
            try {
                Cmd.run("sync");
                Files.writeString(Path.of("/proc/sys/vm/drop_caches"), "3");
                return true;
            } catch (IOException e) {
                return false;
            }
        }
    }
}
