package dev.hostd.image;

import dev.hostd.image.format.Digest;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Unpacks OCI layers with GNU tar (whiteouts applied) and compares two trees file by file. */
final class TreeCompare {
    private TreeCompare() {
    }

    static void run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed: " + out);
        }
    }

    static byte[] runOut(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (p.waitFor() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed: " + new String(p.getErrorStream().readAllBytes()));
        }
        return out;
    }

    /** The reference: each layer unpacked by tar over the last, after removing what its whiteouts name. */
    static void unpackWithTar(List<Path> layers, Path dir) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        for (Path layer : layers) {
            Process list = new ProcessBuilder("tar", "-tf", layer.toString()).start();
            List<String> names = new String(list.getInputStream().readAllBytes()).lines().toList();
            list.waitFor();
            for (String name : names) {
                Path entry = dir.resolve(name);
                String base = entry.getFileName().toString();
                if (base.equals(".wh..wh..opq")) {
                    try (Stream<Path> children = Files.list(entry.getParent())) {
                        for (Path c : children.toList()) {
                            run("rm", "-rf", c.toString());
                        }
                    }
                } else if (base.startsWith(".wh.")) {
                    run("rm", "-rf", entry.resolveSibling(base.substring(4)).toString());
                }
            }
            run("tar", "-xpf", layer.toString(), "--xattrs", "--xattrs-include=*", "--numeric-owner",
                    "--exclude=.wh.*", "-C", dir.toString());
        }
    }

    static String sha256(Path file) throws IOException {
        MessageDigest md = Digest.newSha256();
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 16];
            int n;
            while ((n = in.read(buf)) > 0) {
                md.update(buf, 0, n);
            }
        }
        return Digest.of(md.digest()).hex();
    }

    /** A line per path describing everything we promise to preserve. */
    static Map<String, String> describe(Path root) throws IOException {
        Map<String, String> out = new TreeMap<>();
        List<Path> all;
        try (Stream<Path> s = Files.walk(root)) {
            all = s.toList();
        }
        Map<Object, List<String>> byInode = new TreeMap<>();
        for (Path p : all) {
            String rel = "/" + root.relativize(p);
            Map<String, Object> a = Files.readAttributes(p, "unix:mode,uid,gid,size,lastModifiedTime,rdev,nlink,ino",
                    LinkOption.NOFOLLOW_LINKS);
            int mode = (Integer) a.get("mode");
            StringBuilder d = new StringBuilder();
            d.append("mode=").append(Integer.toOctalString(mode)).append(" uid=").append(a.get("uid"))
                    .append(" gid=").append(a.get("gid"));
            if (Files.isSymbolicLink(p)) {
                d.append(" -> ").append(Files.readSymbolicLink(p));
            } else if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                d.append(" size=").append(a.get("size")).append(" sha256=").append(sha256(p))
                        .append(" nlink=").append(a.get("nlink"));
                byInode.computeIfAbsent(a.get("ino"), k -> new ArrayList<>()).add(rel);
            } else if (!Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                d.append(" rdev=").append(a.get("rdev"));
            }
            // Directory mtimes are left out: tar's reference changes them as upper layers write into
            // the directory, while the image keeps the layer's own (checked in ConverterTest).
            if (!Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                d.append(" mtime=").append(((java.nio.file.attribute.FileTime) a.get("lastModifiedTime")).toMillis() / 1000);
            }
            // Only files and directories: opening a FIFO to list its xattrs would block.
            if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS) || Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                UserDefinedFileAttributeView x = Files.getFileAttributeView(p, UserDefinedFileAttributeView.class);
                for (String name : new java.util.TreeSet<>(x.list())) {
                    ByteBuffer v = ByteBuffer.allocate(x.size(name));
                    x.read(name, v);
                    d.append(" user.").append(name).append('=').append(new String(v.array()));
                }
            }
            out.put(rel, d.toString());
        }
        for (List<String> names : byInode.values()) {
            if (names.size() > 1) {
                List<String> sorted = names.stream().sorted().toList();
                out.put("hardlinks " + sorted.getFirst(), String.join(",", sorted));
            }
        }
        return out;
    }

    static void assertSameTree(Path expected, Path actual) throws IOException {
        Map<String, String> e = describe(expected);
        Map<String, String> a = describe(actual);
        assertEquals(e.keySet(), a.keySet(), "same paths");
        for (String k : e.keySet()) {
            assertEquals(e.get(k), a.get(k), k);
        }
    }
}
