package dev.hostd.image.oci;

import dev.hostd.image.ImageException;
import dev.hostd.image.format.BootstrapCodec;
import dev.hostd.image.format.Node;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Applies tar layers, bottom first, to one in-memory tree: OCI whiteouts ({@code .wh.name}) and
 * opaque directories ({@code .wh..wh..opq}) remove what lower layers made. Strict: an entry whose
 * path is absolute, contains {@code ..}, passes through a symlink or a non-directory, or whose hard
 * link target is missing, is refused with the layer and entry named. Nothing is written to, or
 * resolved on, the host file system.
 */
final class LayerMerger {
    static final String WHITEOUT = ".wh.";
    static final String OPAQUE = ".wh..wh..opq";
    static final int MAX_PATH = 4096;

    final TreeNode root = new TreeNode(Node.S_IFDIR | 0755, -1);
    private final ChunkSink sink;
    private final int chunkSize;
    private final byte[] buffer;
    private long entries;

    LayerMerger(ChunkSink sink, int chunkSize) {
        this.sink = sink;
        this.chunkSize = chunkSize;
        this.buffer = new byte[chunkSize];
    }

    long entries() {
        return entries;
    }

    void apply(InputStream tar, int layer, String layerName) throws IOException {
        TarReader in = new TarReader(tar);
        TarReader.Entry e;
        while ((e = in.next()) != null) {
            entries++;
            try {
                applyEntry(in, e, layer, layerName);
            } catch (ImageException x) {
                throw x;
            } catch (RuntimeException x) {
                throw bad(layerName, e.name(), x.toString());
            }
        }
    }

    private ImageException bad(String layer, String entry, String why) {
        return ImageException.corrupt("convert layer " + layer, "entry '" + entry + "': " + why);
    }

    private void applyEntry(TarReader in, TarReader.Entry e, int layer, String layerName) throws IOException {
        List<String> path = split(e.name(), layerName);
        if (path.isEmpty()) {
            if (e.type() == '5') {
                setMeta(root, e);
            }
            return;
        }
        String base = path.getLast();
        TreeNode parent = parentOf(path, layer, layerName, e);
        if (base.equals(OPAQUE)) {
            parent.children.values().removeIf(child -> child.layer < layer);
            return;
        }
        if (base.startsWith(WHITEOUT)) {
            String target = base.substring(WHITEOUT.length());
            if (!BootstrapCodec.validName(target)) {
                throw bad(layerName, e.name(), "whiteout of an invalid name");
            }
            parent.children.remove(target);
            return;
        }
        TreeNode existing = parent.children.get(base);
        TreeNode node;
        byte flag = e.type();
        switch (flag) {
            case '5' -> node = existing != null && existing.isDirectory() ? existing : new TreeNode(Node.S_IFDIR, layer);
            case '1' -> {
                List<String> target = split(e.linkName(), layerName);
                TreeNode t = resolve(target);
                if (t == null || t.isDirectory()) {
                    throw bad(layerName, e.name(), "hard link target '" + e.linkName() + "' is missing or a directory");
                }
                parent.children.put(base, t);
                return;
            }
            case '2' -> {
                String target = e.linkName();
                if (target.isEmpty() || target.indexOf('\0') >= 0 || target.getBytes(StandardCharsets.UTF_8).length > 4095) {
                    throw bad(layerName, e.name(), "invalid symlink target");
                }
                node = new TreeNode(Node.S_IFLNK, layer);
                node.linkTarget = target;
                node.size = target.getBytes(StandardCharsets.UTF_8).length;
            }
            case '0', 0, '7' -> {
                node = new TreeNode(Node.S_IFREG, layer);
                readContent(in, e, node);
            }
            case '3', '4' -> {
                node = new TreeNode(flag == '3' ? Node.S_IFCHR : Node.S_IFBLK, layer);
                node.rdev = makedev(e.devMajor(), e.devMinor());
            }
            case '6' -> node = new TreeNode(Node.S_IFIFO, layer);
            default -> throw bad(layerName, e.name(), "unsupported tar entry type '" + (char) flag + "'");
        }
        setMeta(node, e);
        parent.children.put(base, node);
    }

    private void readContent(TarReader in, TarReader.Entry e, TreeNode node) throws IOException {
        long remaining = e.size();
        List<Integer> chunks = new ArrayList<>();
        while (remaining > 0) {
            int want = (int) Math.min(chunkSize, remaining);
            int n = 0;
            while (n < want) {
                int r = in.read(buffer, n, want - n);
                if (r < 0) {
                    throw new IOException("layer ends inside the content of '" + e.name() + "'");
                }
                n += r;
            }
            chunks.add(sink.add(buffer, n));
            remaining -= n;
        }
        node.size = e.size();
        node.chunks = chunks.stream().mapToInt(Integer::intValue).toArray();
    }

    private void setMeta(TreeNode node, TarReader.Entry e) {
        node.mode = (node.mode & Node.S_IFMT) | (e.mode() & 07777);
        node.uid = (int) e.uid();
        node.gid = (int) e.gid();
        node.mtimeSeconds = e.mtimeSeconds();
        node.mtimeNanos = e.mtimeNanos();
        node.xattrs = new java.util.TreeMap<>(e.xattrs());
    }

    /** The parent directory of {@code path}, made (0755, root-owned) where missing; never through a symlink. */
    private TreeNode parentOf(List<String> path, int layer, String layerName, TarReader.Entry e) {
        String entry = e.name();
        TreeNode dir = root;
        for (int i = 0; i < path.size() - 1; i++) {
            TreeNode next = dir.children.get(path.get(i));
            if (next == null) {
                // A directory the tar does not list: 0755 root, and the entry's time (deterministic).
                next = new TreeNode(Node.S_IFDIR | 0755, layer);
                next.mtimeSeconds = e.mtimeSeconds();
                dir.children.put(path.get(i), next);
            } else if (next.isSymlink()) {
                throw bad(layerName, entry, "path goes through the symlink '" + path.get(i) + "'; refused, never followed");
            } else if (!next.isDirectory()) {
                throw bad(layerName, entry, "parent '" + path.get(i) + "' is not a directory");
            }
            dir = next;
        }
        return dir;
    }

    private TreeNode resolve(List<String> path) {
        TreeNode n = root;
        for (String part : path) {
            if (!n.isDirectory()) {
                return null;
            }
            n = n.children.get(part);
            if (n == null) {
                return null;
            }
        }
        return n;
    }

    /** Splits a tar path into names; "." parts dropped, absolute paths and ".." refused. */
    private List<String> split(String name, String layerName) {
        if (name.length() > MAX_PATH) {
            throw bad(layerName, name.substring(0, 64) + "...", "path longer than " + MAX_PATH);
        }
        if (name.startsWith("/")) {
            throw bad(layerName, name, "absolute path refused");
        }
        List<String> parts = new ArrayList<>();
        for (String p : name.split("/")) {
            if (p.isEmpty() || p.equals(".")) {
                continue;
            }
            if (p.equals("..")) {
                throw bad(layerName, name, "'..' in a path refused");
            }
            if (!BootstrapCodec.validName(p)) {
                throw bad(layerName, name, "invalid file name '" + p + "'");
            }
            parts.add(p);
        }
        return parts;
    }

    /** glibc's makedev: the dev_t that stat(2) reports. */
    static long makedev(long major, long minor) {
        return ((major & 0xfffL) << 8) | ((major & ~0xfffL) << 32) | (minor & 0xffL) | ((minor & ~0xffL) << 12);
    }
}
