package dev.hostd.bench.image;

import dev.hostd.image.ImageConverter;
import dev.hostd.image.ImageMount;
import dev.hostd.image.ImageSource;
import dev.hostd.image.MountOptions;
import dev.hostd.image.format.Bootstrap;
import dev.hostd.image.trace.ReadLog;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Where a start's bytes go, at page granularity: converts one bench image, mounts it from its
 * local directory with a FUSE read log, runs /app/ready once from a dropped page cache, and prints
 * the bytes the FUSE reads cover at 4 KiB .. 1 MiB granularity, the request sizes the kernel sent,
 * and the files read most. Not timed (local backend): it shows what a lazy start has to fetch.
 * Run (root): {@code scripts/bench-image-reads [-Dbench.image=chromium] [-Dbench.chunk-kib=1024]}.
 */
public final class ReadPattern {
    public static void main(String[] args) throws Exception {
        String name = System.getProperty("bench.image", "chromium");
        int chunkKib = Integer.getInteger("bench.chunk-kib", ImageConverter.DEFAULT_CHUNK_SIZE >> 10);
        Path layout = Path.of(System.getProperty("bench.images", "/var/cache/hostd-bench/images")).resolve(name).toRealPath();
        Path work = Files.createTempDirectory(Path.of("/var/tmp"), "hostd-image-reads");
        Teardown.track(() -> Cmd.quietly("rm", "-rf", "--one-file-system", work.toString()));
        try {
            Path dir = work.resolve("image");
            var defaults = ImageConverter.Options.defaults();
            ImageConverter.convert(layout, dir, new ImageConverter.Options(chunkKib << 10, defaults.blobDir(), defaults.dedupWith(),
                    defaults.ref()));
            Path mnt = Files.createDirectories(work.resolve("mnt"));
            ImageBenchmark.PageCache.drop();
            ImageMount m = ImageMount.mount(new ImageSource.Local(dir, null), mnt,
                    MountOptions.defaults().withCache(work.resolve("chunks"), 8L << 30).withReadLog(true));
            Teardown.track(m::close);
            String ra = System.getProperty("bench.readahead-kb");
            if (ra != null) { // what the application itself reads, without the kernel's read-ahead around it
                Files.writeString(readAheadFile(mnt), ra);
            }
            String out = ChrootRun.ready(mnt, work.resolve("run"));
            Bootstrap image = m.image();
            ReadLog log = m.readLog();
            System.out.println(name + " (chunk size " + chunkKib + " KiB): " + out);
            System.out.println("FUSE reads: " + log.reads().size() + ", bdi read_ahead_kb " + readAheadKb(mnt));
            for (int kib : new int[]{4, 16, 64, 128, 256, 512, 1024}) {
                System.out.printf("  touched at %4d KiB granularity: %8.1f MB%n", kib, log.touchedBytes(image, kib << 10) / 1e6);
            }
            Map<Integer, Integer> sizes = new TreeMap<>();
            Map<Integer, long[]> perFile = new HashMap<>();
            for (ReadLog.Read r : log.reads()) {
                sizes.merge(r.length(), 1, Integer::sum);
                long[] f = perFile.computeIfAbsent(r.node(), k -> new long[2]);
                f[0]++;
                f[1] += r.length();
            }
            System.out.println("request sizes (bytes: count): " + sizes);
            List<Map.Entry<Integer, long[]>> top = perFile.entrySet().stream()
                    .sorted((a, b) -> Long.compare(b.getValue()[1], a.getValue()[1])).limit(15).toList();
            String[] paths = ReadLog.paths(image);
            for (var e : top) {
                System.out.printf("  %8.1f MB in %6d reads of %8.1f MB  %s%n", e.getValue()[1] / 1e6, e.getValue()[0],
                        image.node(e.getKey()).size() / 1e6, paths[e.getKey()]);
            }
            Path logFile = Path.of(System.getProperty("bench.read-log", "/tmp/" + name + "-reads.txt"));
            log.write(logFile, image);
            System.out.println("read log: " + logFile);
        } finally {
            Teardown.closeAll();
        }
    }

    /** The kernel's read-ahead window for the FUSE mount (its backing device info), or "?" when not found. */
    static String readAheadKb(Path mnt) {
        try {
            return Files.readString(readAheadFile(mnt)).strip();
        } catch (Exception e) {
            return "? (" + e.getMessage() + ")";
        }
    }

    static Path readAheadFile(Path mnt) throws java.io.IOException {
        long d = Long.parseLong(Cmd.run("stat", "-c", "%d", mnt.toString()).strip());
        return Path.of("/sys/class/bdi/" + ((d >> 8) & 0xfff) + ":" + ((d & 0xff) | ((d >> 12) & 0xfff00)) + "/read_ahead_kb");
    }
}
