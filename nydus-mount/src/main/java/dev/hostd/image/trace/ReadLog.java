package dev.hostd.image.trace;

import dev.hostd.image.ImageException;
import dev.hostd.image.format.Bootstrap;
import dev.hostd.image.format.Node;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A debugging aid: every FUSE read (node, offset, length) in arrival order, to see at which
 * granularity a start really reads its files (a trace only knows whole chunks). Off by default;
 * {@code MountOptions.withReadLog} turns it on and {@code ImageMount.readLog()} hands it out.
 */
public final class ReadLog {
    /** One FUSE read request. */
    public record Read(int node, long offset, int length) {
    }

    private final List<Read> reads = new ArrayList<>();

    public synchronized void add(int node, long offset, int length) {
        reads.add(new Read(node, offset, length));
    }

    public synchronized List<Read> reads() {
        return List.copyOf(reads);
    }

    /**
     * The bytes the logged reads cover when each is widened to whole {@code granularity}-aligned
     * blocks of its file (clipped to the file size), every block counted once: what a chunk size
     * of {@code granularity} would make a start fetch (uncompressed).
     */
    public long touchedBytes(Bootstrap image, long granularity) {
        if (granularity <= 0) {
            throw new IllegalArgumentException("granularity " + granularity);
        }
        java.util.Map<Integer, java.util.BitSet> blocks = new java.util.HashMap<>();
        for (Read r : reads()) {
            if (r.length() <= 0) {
                continue;
            }
            long size = image.node(r.node()).size();
            long first = r.offset() / granularity;
            long last = (Math.min(size, r.offset() + r.length()) - 1) / granularity;
            if (first > last) {
                continue;
            }
            blocks.computeIfAbsent(r.node(), n -> new java.util.BitSet()).set((int) first, (int) last + 1);
        }
        long sum = 0;
        for (var e : blocks.entrySet()) {
            long size = image.node(e.getKey()).size();
            java.util.BitSet b = e.getValue();
            for (int i = b.nextSetBit(0); i >= 0; i = b.nextSetBit(i + 1)) {
                sum += Math.min(granularity, size - i * granularity);
            }
        }
        return sum;
    }

    /** A path of each node (the first found walking the tree from the root). */
    public static String[] paths(Bootstrap image) {
        String[] names = new String[image.nodes().size()];
        names[Bootstrap.ROOT] = "/";
        java.util.ArrayDeque<Integer> work = new java.util.ArrayDeque<>(List.of(Bootstrap.ROOT));
        while (!work.isEmpty()) {
            int dir = work.poll();
            String prefix = dir == Bootstrap.ROOT ? "/" : names[dir] + "/";
            for (Node.DirEntry e : image.node(dir).entries()) {
                if (names[e.node()] == null) {
                    names[e.node()] = prefix + e.name();
                    if (image.node(e.node()).isDirectory()) {
                        work.add(e.node());
                    }
                }
            }
        }
        return names;
    }

    /** Text, one read a line: {@code node offset length path} (path: the first name of the node). */
    public void write(Path file, Bootstrap image) {
        String[] names = paths(image);
        try (BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            for (Read r : reads()) {
                w.write(r.node() + " " + r.offset() + " " + r.length() + " " + names[r.node()]);
                w.newLine();
            }
        } catch (IOException e) {
            throw new ImageException("write read log " + file, "EIO", e.toString(), e);
        }
    }
}
