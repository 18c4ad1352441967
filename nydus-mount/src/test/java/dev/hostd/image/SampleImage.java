package dev.hostd.image;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

/** A two-layer image that exercises every feature of the format; shared by the unit and FUSE tests. */
public final class SampleImage {
    public static final int BIG_MIB = 50;

    private SampleImage() {
    }

    static byte[] random(long seed, int size) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** Compressible text-like content: LZ4 stores it smaller. */
    static byte[] text(int size) {
        StringBuilder sb = new StringBuilder();
        int i = 0;
        while (sb.length() < size) {
            sb.append("line ").append(i++).append(" of a function image, hello from the lazy loader\n");
        }
        return sb.substring(0, size).getBytes(StandardCharsets.US_ASCII);
    }

    /** Writes the layout; returns the layer files (bottom first). {@code bigMib} 0 leaves the big file out. */
    public static List<Path> write(Path layout, int bigMib) throws IOException {
        OciTestImage img = new OciTestImage();
        OciTestImage.Layer base = img.layer(true)
                .dir("etc", 0755, 0, 0)
                .file("etc/hostname", 0644, "sandbox\n".getBytes(StandardCharsets.US_ASCII))
                .file("etc/shadow", 0640, 0, 42, "root:*:19000:0:99999:7:::\n".getBytes(StandardCharsets.US_ASCII), List.of())
                .dir("usr", 0755, 0, 0)
                .dir("usr/bin", 0755, 0, 0)
                .file("usr/bin/tool", 04755, 0, 0, random(1, 3 * 1024 * 1024 + 17), List.of())
                .hardlink("usr/bin/tool-alias", "usr/bin/tool")
                .file("usr/bin/text", 0644, 1000, 1000, text(2 * 1024 * 1024 + 5), List.of(new String[]{"user.origin", "layer-0"},
                        new String[]{"trusted.note", "kept"}))
                .symlink("usr/bin/tool-link", "tool")
                .symlink("etc/abs-link", "/usr/bin/tool")
                .dir("var", 0755, 0, 0)
                .dir("var/cache", 0700, 33, 33)
                .file("var/cache/old1", 0600, 33, 33, "stale cache 1".getBytes(StandardCharsets.US_ASCII), List.of())
                .file("var/cache/old2", 0600, 33, 33, "stale cache 2".getBytes(StandardCharsets.US_ASCII), List.of())
                .file("etc/removed.conf", 0644, "gone in layer 1".getBytes(StandardCharsets.US_ASCII))
                .dir("dev", 0755, 0, 0)
                .device("dev/null", true, 1, 3)
                .device("dev/sda", false, 8, 0)
                .fifo("dev/initctl")
                .file("empty", 0644, new byte[0])
                .dir("dup", 0755, 0, 0)
                .file("dup/a", 0644, random(7, 1 << 20))
                .file("dup/b", 0644, random(7, 1 << 20));
        if (bigMib > 0) {
            base.dir("data", 0755, 0, 0).file("data/big.bin", 0644, random(99, bigMib << 20));
        }
        img.layer(false)
                .whiteout("etc", "removed.conf")
                .opaque("var/cache")
                .file("var/cache/new", 0600, 33, 33, "fresh cache".getBytes(StandardCharsets.US_ASCII), List.of())
                .file("etc/hostname", 0644, "overwritten\n".getBytes(StandardCharsets.US_ASCII));
        return img.write(layout);
    }
}
