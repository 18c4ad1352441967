package dev.hostd.bench.image;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/** Sequential read throughput of the same large files under two roots (a FUSE mount, a local directory). */
final class ReadThroughput {
    private ReadThroughput() {}

    /** The largest regular files under root, biggest first, until they add up to {@code total} bytes. */
    static List<Path> largestFiles(Path root, long minSize, long total) throws IOException {
        List<Path> found = new ArrayList<>();
        try (Stream<Path> walk = Files.walk(root)) {
            walk.filter(p -> Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)).forEach(found::add);
        }
        found.sort(Comparator.comparingLong(ReadThroughput::size).reversed());
        List<Path> picked = new ArrayList<>();
        long sum = 0;
        for (Path p : found) {
            if (size(p) < minSize || sum >= total) {
                break;
            }
            picked.add(root.relativize(p));
            sum += size(p);
        }
        return picked;
    }

    /** Reads every file once in 1 MiB reads; returns MB/s (10^6) over the total bytes. */
    static double megabytesPerSecond(Path root, List<Path> files) throws IOException {
        ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
        long bytes = 0;
        long t = System.nanoTime();
        for (Path f : files) {
            try (FileChannel ch = FileChannel.open(root.resolve(f))) {
                int n;
                while ((n = ch.read(buf.clear())) > 0) {
                    bytes += n;
                }
            }
        }
        return bytes / ((System.nanoTime() - t) / 1e9) / 1e6;
    }

    static long totalSize(Path root, List<Path> files) {
        return files.stream().mapToLong(f -> size(root.resolve(f))).sum();
    }

    private static long size(Path p) {
        try {
            return Files.readAttributes(p, BasicFileAttributes.class, java.nio.file.LinkOption.NOFOLLOW_LINKS).size();
        } catch (IOException e) {
            return 0;
        }
    }
}
