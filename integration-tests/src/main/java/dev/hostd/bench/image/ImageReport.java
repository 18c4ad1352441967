package dev.hostd.bench.image;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/** Formats the image benchmark's table, JSON line and docs/benchmarks/image.md. */
final class ImageReport {
    private ImageReport() {}

    static void fill(Map<String, Object> json, List<ImageRun> runs, CodecThroughput.Result codecs, ImageBenchmark.ReadFigures reads) {
        for (ImageRun r : runs) {
            String k = r.image() + "_";
            json.put(k + "gzip_mb", round(r.gzipLayerBytes() / 1e6));
            json.put(k + "full_download_s", round(r.fullDownloadMs() / 1e3));
            json.put(k + "full_unpack_s", round(r.fullUnpackMs() / 1e3));
            json.put(k + "full_ready_s", round(r.fullReadyMs() / 1e3));
            if (r.lazyReadyMs() != null) {
                json.put(k + "lazy_ready_s", round(r.lazyReadyMs() / 1e3));
                json.put(k + "lazy_ratio", round(r.lazyRatio()));
                json.put(k + "prefetch_ready_s", round(r.prefetchReadyMs() / 1e3));
                json.put(k + "prefetch_ratio", round(r.prefetchRatio()));
                json.put(k + "lazy_read_mb", round(r.lazyBytesRead() / 1e6));
                json.put(k + "lazy_read_fraction", round(r.fractionOfImage()));
                if (r.prefetchBytesRead() != null) {
                    json.put(k + "prefetch_read_mb", round(r.prefetchBytesRead() / 1e6));
                }
                json.put(k + "traced_mb", round(r.tracedBytes() / 1e6));
                json.put(k + "nydus_blob_mb", round(r.nydusBlobBytes() / 1e6));
            }
            if (r.conversion() != null) {
                json.put(k + "convert_s", round(r.conversion().seconds()));
                json.put(k + "bootstrap_kb", round(r.conversion().bootstrapBytes() / 1e3));
                json.put(k + "lazy_pages_4k_mb", round(r.conversion().read4kBytes() / 1e6));
                json.put(k + "lazy_pages_64k_mb", round(r.conversion().read64kBytes() / 1e6));
            }
        }
        if (codecs != null) {
            json.put("codec_sample_mb", round(codecs.bytes() / 1e6));
            json.put("gzip_decompress_mbps", round(codecs.gzipMBps()));
            json.put("lz4_decompress_mbps", round(codecs.lz4MBps()));
            json.put("lz4_verified_mbps", round(codecs.lz4VerifiedMBps()));
            json.put("lz4_to_gzip_speedup", round(codecs.speedup()));
        }
        if (reads != null) {
            json.put("read_files", reads.files());
            json.put("read_mb", round(reads.bytes() / 1e6));
            json.put("local_page_cache_mbps", round(reads.localWarmMBps()));
            json.put("local_disk_mbps", round(reads.localDiskMBps()));
            if (reads.pending() == null) {
                json.put("fuse_page_cache_mbps", round(reads.fuseWarmMBps()));
                json.put("fuse_chunk_cache_mbps", round(reads.fuseChunkCacheMBps()));
            }
        }
    }

    static String table(List<ImageRun> runs, CodecThroughput.Result c, ImageBenchmark.ReadFigures reads, String pending) {
        StringBuilder b = new StringBuilder();
        b.append("| image | layers | gzip MB | full pull: downloaded / unpacked / ready s | lazy ready s (mounted) | lazy / full | lazy+prefetch ready s (mounted) | prefetch / full | lazy read MB (of image) | prefetch-run read MB | touched MB (trace) | nydus blobs MB |\n");
        b.append("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (ImageRun r : runs) {
            b.append(String.format(Locale.ROOT, "| %s | %d | %.1f | %.2f / %.2f / %.2f | %s | %s | %s | %s | %s | %s | %s | %s |%n",
                    r.image(), r.layers(), r.gzipLayerBytes() / 1e6, r.fullDownloadMs() / 1e3, r.fullUnpackMs() / 1e3, r.fullReadyMs() / 1e3,
                    r.lazyReadyMs() == null ? "pending" : String.format(Locale.ROOT, "%.2f (%.2f)", r.lazyReadyMs() / 1e3, r.lazyMountMs() / 1e3),
                    fmt(r.lazyRatio()),
                    r.prefetchReadyMs() == null ? "pending" : String.format(Locale.ROOT, "%.2f (%.2f)", r.prefetchReadyMs() / 1e3, r.prefetchMountMs() / 1e3),
                    fmt(r.prefetchRatio()),
                    r.lazyBytesRead() == null ? "pending" : String.format(Locale.ROOT, "%.1f (%.0f%%)", r.lazyBytesRead() / 1e6, 100 * r.fractionOfImage()),
                    r.prefetchBytesRead() == null ? "pending" : String.format(Locale.ROOT, "%.1f", r.prefetchBytesRead() / 1e6),
                    r.tracedBytes() == null ? "pending" : String.format(Locale.ROOT, "%.1f", r.tracedBytes() / 1e6),
                    r.nydusBlobBytes() == null ? "pending" : String.format(Locale.ROOT, "%.1f", r.nydusBlobBytes() / 1e6)));
        }
        if (runs.stream().anyMatch(r -> r.conversion() != null)) {
            b.append('\n');
            b.append("| image | chunk KiB | LZ4 level | convert s | bootstrap KB | lazy start's FUSE reads at 4 KiB / 64 KiB granularity MB | touched MB (trace, whole chunks) |\n");
            b.append("|---|---|---|---|---|---|---|\n");
            for (ImageRun r : runs) {
                ImageRun.Conversion v = r.conversion();
                if (v != null) {
                    b.append(String.format(Locale.ROOT, "| %s | %d | %s | %.1f | %.0f | %.1f / %.1f | %.1f |%n", r.image(), v.chunkKib(),
                            v.lz4Level() == 0 ? "0 (fast)" : v.lz4Level() + " (HC)", v.seconds(), v.bootstrapBytes() / 1e3,
                            v.read4kBytes() / 1e6, v.read64kBytes() / 1e6, r.tracedBytes() / 1e6));
                }
            }
        }
        if (c != null) {
            b.append('\n');
            b.append("| decompression, one thread, same data | MB/s of output | compression ratio |\n|---|---|---|\n");
            b.append(String.format(Locale.ROOT, "| JDK gzip (GZIPInputStream), %.0f MB tar | %.0f | %.2f |%n", c.bytes() / 1e6, c.gzipMBps(), c.gzipRatio()));
            String blocks = String.format(Locale.ROOT, "LZ4 %d KiB blocks (level %d)", CodecThroughput.CHUNK >> 10, CodecThroughput.LEVEL);
            b.append(String.format(Locale.ROOT, "| %s, lz4-java safe decompressor | %.0f (%.1f× gzip) | %.2f |%n", blocks, c.lz4MBps(), c.speedup(), c.lz4Ratio()));
            b.append(String.format(Locale.ROOT, "| %s + SHA-256 check per chunk | %.0f | |%n", blocks, c.lz4VerifiedMBps()));
        }
        if (reads != null) {
            b.append('\n');
            b.append(String.format(Locale.ROOT, "| sequential 1 MiB reads of the %d largest files (%.0f MB) | FUSE (nydus-mount) MB/s | local disk MB/s |%n",
                    reads.files(), reads.bytes() / 1e6));
            b.append("|---|---|---|\n");
            b.append(String.format(Locale.ROOT, "| in the page cache | %s | %.0f |%n", reads.pending() == null ? fmt0(reads.fuseWarmMBps()) : "pending", reads.localWarmMBps()));
            b.append(String.format(Locale.ROOT, "| page cache dropped (FUSE: from its chunk cache) | %s | %.0f |%n",
                    reads.pending() == null ? fmt0(reads.fuseChunkCacheMBps()) : "pending", reads.localDiskMBps()));
        }
        if (pending != null) {
            b.append("\nNot measured: ").append(pending).append('\n');
        }
        return b.toString();
    }

    static String json(Map<String, Object> values) {
        return values.entrySet().stream().map(e -> "\"" + e.getKey() + "\":" + e.getValue())
                .collect(Collectors.joining(",", "{\"benchmark\":\"image\",", "}"));
    }

    static void writeMarkdown(Path file, String table, String jsonLine, List<ImageRun> runs, CodecThroughput.Result c,
                              ImageBenchmark.ReadFigures reads, String pending, int mbit, int rttMs, boolean dropped) throws IOException {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            host = "unknown";
        }
        StringBuilder targets = new StringBuilder();
        for (ImageRun r : runs) {
            targets.append(String.format(Locale.ROOT, "| %s | lazy ≤ 0.5× full pull | %s | %s |%n", r.image(), fmt(r.lazyRatio()), met(r.lazyRatio(), 0.5)));
            targets.append(String.format(Locale.ROOT, "| %s | lazy + prefetch ≤ 0.35× full pull | %s | %s |%n", r.image(), fmt(r.prefetchRatio()), met(r.prefetchRatio(), 0.35)));
        }
        Double fuse = reads == null || reads.pending() != null ? null : reads.fuseWarmMBps() / 1000;
        targets.append(String.format(Locale.ROOT, "| all | cached FUSE sequential reads ≥ 1 GB/s | %s | %s |%n",
                fuse == null ? "pending" : String.format(Locale.ROOT, "%.2f GB/s", fuse), fuse == null ? "pending" : (fuse >= 1 ? "yes" : "**no**")));
        String readyLines = runs.stream().map(r -> "- " + r.image() + ": `" + r.readyOutput() + "`").collect(Collectors.joining("\n"));
        String md = """
                # Image benchmark

                Latest run: %s on `%s` (%d cores), JDK %s. Produced by `dev.hostd.bench.image.ImageBenchmark`;
                re-run with (as root):

                ```
                scripts/bench-image
                ```

                (`scripts/bench-image -Dbench.mbit=100 -Dbench.rtt-ms=10 -Dbench.image-names=flask,sklearn,chromium`
                are the defaults.) It first runs `scripts/build-bench-images`, which builds three OCI image
                layouts from Debian bookworm packages (debootstrap `--variant=minbase` base layer, `apt-get
                install --no-install-recommends` layer, application layer with `/app/ready`; gzip layers
                written by umoci) and caches them in `/var/cache/hostd-bench/images`, keyed by a hash of
                the recipe:

                - **flask**: `python3 python3-flask`; ready = the app imported and a request answered
                  through Flask's test client.
                - **sklearn**: `python3 python3-sklearn` (numpy, scipy); ready = imported and a
                  LogisticRegression fitted.
                - **chromium**: `chromium fonts-dejavu-core`; ready = headless Chromium printed an HTML
                  page to a PDF.

                The images are pushed to Debian's `docker-registry` running in a network namespace that
                the benchmark creates, reached over a veth (198.19.240.1 ↔ .2) shaped with `tc tbf` to
                %d Mbit/s in both directions, through a proxy of the benchmark that adds %d ms of RTT
                (the kernel has no netem: each connection waits one RTT to open and every byte is
                delivered half an RTT later in each direction). Page cache dropped before each start:
                %s. Each start is timed from nothing on the host to `/app/ready` exiting 0, run in a
                chroot over a tmpfs overlay with /proc, /dev, /tmp as a container runtime would:

                1. **full pull**: manifest, every gzip layer downloaded (three at a time, as
                   docker/containerd), each unpacked by GNU `tar` into a directory as soon as it and the
                   layers below are in, OCI whiteouts applied, then run;
                2. **lazy**: an `ImageMount` (nydus-mount's API, in this JVM as in hostd; its read path
                   warmed up once beforehand on another mount) from the registry with an empty chunk
                   cache and a fresh bootstrap, recording the start-up trace, then run;
                3. **lazy + prefetch**: the same with the chunk cache and bootstrap removed again, only
                   the recorded trace kept, prefetching it.

                The host is shared (2 cores); the JSON line has its 1-minute load average before and
                after the run: a busy host slows the unpacking of the full pull and the lazy starts
                alike, so read the ratios rather than the absolute times.

                "lazy read" is what came through the proxy during the lazy start (LZ4-compressed
                chunks), against the gzip image's size; "touched" is the uncompressed size of the
                chunks in the trace that start recorded (what the application read). A foreground miss
                also fetches the chunks after it in the blob, up to `merge_kib` in the JSON line
                (nydus-mount's default unless `-Dbench.merge-kib=N`; read-ahead of the next chunk of a
                file merges up to 4 MiB): fewer round trips against more bytes. A lazy start takes at
                least its "lazy read" bytes at the link's rate (12.5 MB/s at 100 Mbit/s).
                "prefetch-run read" is the same for the lazy + prefetch start: the prefetch fetches
                exactly the traced chunks (runs of them adjacent in a blob, bridging gaps of at most
                64 KiB), and there is no read-ahead while it runs.

                The second table says how each image was converted (chunk size and LZ4 level:
                nydus-mount's defaults unless `-Dbench.chunk-kib=N -Dbench.lz4-level=L`, and how
                long the conversion took on this shared host) and where the lazy start's bytes went:
                the bytes its FUSE reads covered (the mount's read log) widened to 4 KiB pages and to
                64 KiB blocks, against the whole chunks its trace names. Those reads include the
                kernel's read-ahead around each page fault (at most 128 KiB for a FUSE mount).

                The codec rows decompress the same data (the first 256 MiB of the uncompressed tar of
                the largest layer of the last image) with the JDK's gzip and with lz4-java in the
                blocks nydus-mount stores by default. The read rows read the largest files of the last
                image (≥ 8 MiB each, up to 512 MB) sequentially through a nydus-mount FUSE mount
                (local-directory backend, after one read filled its caches) and from the same
                files unpacked on the local disk.

                %s
                ```json
                %s
                ```

                What each image's /app/ready printed:

                %s

                ## Targets (issue 4)

                | image | target | measured | met |
                |---|---|---|---|
                %s""".formatted(Instant.now().truncatedTo(ChronoUnit.SECONDS), host, Runtime.getRuntime().availableProcessors(),
                Runtime.version(), mbit, rttMs, dropped ? "yes" : "no (not allowed here)", table, jsonLine, readyLines, targets);
        Files.createDirectories(file.toAbsolutePath().getParent());
        Files.writeString(file, md);
    }

    private static String met(Double ratio, double target) {
        return ratio == null ? "pending" : ratio <= target ? "yes" : "**no**";
    }

    private static String fmt(Double d) {
        return d == null ? "pending" : String.format(Locale.ROOT, "%.2f", d);
    }

    private static String fmt0(double d) {
        return String.format(Locale.ROOT, "%.0f", d);
    }

    static double round(double d) {
        return Math.round(d * 1000) / 1000.0;
    }
}
