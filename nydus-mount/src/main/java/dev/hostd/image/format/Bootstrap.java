package dev.hostd.image.format;

import dev.hostd.image.ImageException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;

/**
 * An image's metadata: the merged file tree and the chunk and blob index. Immutable; read with
 * {@link #read(Path)} (which refuses anything malformed), written with {@link BootstrapCodec}.
 * Node 0 is the root directory.
 */
public final class Bootstrap {
    public static final String FILE_NAME = "bootstrap";
    public static final int ROOT = 0;

    private final int chunkSize;
    private final List<BlobInfo> blobs;
    private final List<ChunkInfo> chunks;
    private final List<Node> nodes;
    private final int[] linkCounts;
    private final Digest digest;

    Bootstrap(int chunkSize, List<BlobInfo> blobs, List<ChunkInfo> chunks, List<Node> nodes, int[] linkCounts,
              Digest digest) {
        this.chunkSize = chunkSize;
        this.blobs = Collections.unmodifiableList(blobs);
        this.chunks = Collections.unmodifiableList(chunks);
        this.nodes = Collections.unmodifiableList(nodes);
        this.linkCounts = linkCounts;
        this.digest = digest;
    }

    /** Reads and validates a bootstrap file. */
    public static Bootstrap read(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new ImageException("read bootstrap " + file, "EIO", e.toString(), e);
        }
        return BootstrapCodec.decode(bytes, file.toString());
    }

    public int chunkSize() {
        return chunkSize;
    }

    public List<BlobInfo> blobs() {
        return blobs;
    }

    public List<ChunkInfo> chunks() {
        return chunks;
    }

    public List<Node> nodes() {
        return nodes;
    }

    public Node node(int index) {
        return nodes.get(index);
    }

    /** The SHA-256 of the encoded bootstrap: the image's identity. */
    public Digest digest() {
        return digest;
    }

    /** st_nlink: directory entries naming a file, or 2 + subdirectories for a directory. */
    public int linkCount(int node) {
        return linkCounts[node];
    }

    /** The node of an absolute path ("/", "/etc/passwd"), or -1. Never follows symlinks. */
    public int lookup(String path) {
        int current = ROOT;
        int start = 1;
        while (start < path.length()) {
            int slash = path.indexOf('/', start);
            int end = slash < 0 ? path.length() : slash;
            if (end > start) {
                current = child(current, path.substring(start, end));
                if (current < 0) {
                    return -1;
                }
            }
            start = end + 1;
        }
        return current;
    }

    /** The child of a directory node by name (binary search over the sorted entries), or -1. */
    public int child(int dir, String name) {
        Node node = nodes.get(dir);
        if (!node.isDirectory()) {
            return -1;
        }
        List<Node.DirEntry> entries = node.entries();
        int lo = 0;
        int hi = entries.size() - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            int c = entries.get(mid).name().compareTo(name);
            if (c == 0) {
                return entries.get(mid).node();
            } else if (c < 0) {
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return -1;
    }

    /** Total uncompressed bytes of distinct chunks that files of this image reference. */
    public long uncompressedBytes() {
        long sum = 0;
        for (ChunkInfo c : chunks) {
            sum += c.size();
        }
        return sum;
    }
}
