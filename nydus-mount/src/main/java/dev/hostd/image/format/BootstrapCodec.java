package dev.hostd.image.format;

import dev.hostd.image.ImageException;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32C;

/**
 * The bootstrap's binary form (docs/image-format.md): a 32-byte header (magic, version, chunk
 * size, body length, CRC32C of the body) and a big-endian body of blob, chunk and node tables.
 * Decoding checks every length, index and offset, so a malformed file is refused with a message
 * naming what was wrong instead of being trusted by the FUSE frontend.
 */
public final class BootstrapCodec {
    public static final byte[] MAGIC = "HDNYBOOT".getBytes(StandardCharsets.US_ASCII);
    public static final int MAJOR = 1;
    public static final int MINOR = 0;
    public static final int HEADER_SIZE = 32;
    public static final int CRC_OFFSET = 24;
    public static final int MIN_CHUNK_SIZE = 4096;
    public static final int MAX_CHUNK_SIZE = 16 << 20;
    static final int MAX_NAME = 255;
    static final int MAX_LINK = 4095;

    private BootstrapCodec() {
    }

    public static byte[] encode(int chunkSize, List<BlobInfo> blobs, List<ChunkInfo> chunks, List<Node> nodes) {
        try {
            ByteArrayOutputStream bodyBytes = new ByteArrayOutputStream();
            DataOutputStream out = new DataOutputStream(bodyBytes);
            out.writeInt(blobs.size());
            for (BlobInfo b : blobs) {
                out.write(b.digest().bytes());
                out.writeLong(b.size());
            }
            out.writeInt(chunks.size());
            for (ChunkInfo c : chunks) {
                out.write(c.digest().bytes());
                out.writeInt(c.blob());
                out.writeLong(c.offset());
                out.writeInt(c.storedSize());
                out.writeInt(c.size());
                out.writeInt(c.flags());
            }
            out.writeInt(nodes.size());
            for (Node n : nodes) {
                writeNode(out, n);
            }
            out.flush();
            byte[] body = bodyBytes.toByteArray();
            ByteBuffer all = ByteBuffer.allocate(HEADER_SIZE + body.length);
            all.put(MAGIC).putShort((short) MAJOR).putShort((short) MINOR).putInt(chunkSize)
                    .putLong(body.length).putInt(0).putInt(0).put(body);
            all.putInt(CRC_OFFSET, checksum(all.array()));
            return all.array();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** CRC32C of the whole file except the checksum field itself (header and body). */
    public static int checksum(byte[] file) {
        CRC32C c = new CRC32C();
        c.update(file, 0, CRC_OFFSET);
        c.update(file, CRC_OFFSET + 4, file.length - CRC_OFFSET - 4);
        return (int) c.getValue();
    }

    private static void writeNode(DataOutputStream out, Node n) throws IOException {
        out.writeInt(n.mode());
        out.writeInt(n.uid());
        out.writeInt(n.gid());
        out.writeLong(n.mtimeSeconds());
        out.writeInt(n.mtimeNanos());
        out.writeLong(n.size());
        out.writeLong(n.rdev());
        out.writeShort(n.xattrs().size());
        for (Map.Entry<String, byte[]> x : n.xattrs().entrySet()) {
            byte[] name = x.getKey().getBytes(StandardCharsets.UTF_8);
            out.writeShort(name.length);
            out.write(name);
            out.writeInt(x.getValue().length);
            out.write(x.getValue());
        }
        switch (n.type()) {
            case Node.S_IFLNK -> {
                byte[] t = n.linkTarget().getBytes(StandardCharsets.UTF_8);
                out.writeShort(t.length);
                out.write(t);
            }
            case Node.S_IFREG -> {
                out.writeInt(n.chunks().length);
                for (int c : n.chunks()) {
                    out.writeInt(c);
                }
            }
            case Node.S_IFDIR -> {
                out.writeInt(n.entries().size());
                for (Node.DirEntry e : n.entries()) {
                    byte[] name = e.name().getBytes(StandardCharsets.UTF_8);
                    out.writeByte(name.length);
                    out.write(name);
                    out.writeInt(e.node());
                }
            }
            default -> {
            }
        }
    }

    /** Writes atomically (temp file + rename) and returns the bootstrap as a reader would see it. */
    public static Bootstrap write(Path file, int chunkSize, List<BlobInfo> blobs, List<ChunkInfo> chunks,
                                  List<Node> nodes) {
        byte[] bytes = encode(chunkSize, blobs, chunks, nodes);
        Bootstrap checked = decode(bytes, file.toString());
        try {
            Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
            Files.write(tmp, bytes);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new ImageException("write bootstrap " + file, "EIO", e.toString(), e);
        }
        return checked;
    }

    public static Bootstrap decode(byte[] bytes, String source) {
        String op = "read bootstrap " + source;
        if (bytes.length < HEADER_SIZE) {
            throw ImageException.corrupt(op, "truncated: " + bytes.length + " bytes, the header alone has " + HEADER_SIZE);
        }
        ByteBuffer h = ByteBuffer.wrap(bytes, 0, HEADER_SIZE);
        byte[] magic = new byte[8];
        h.get(magic);
        if (!java.util.Arrays.equals(magic, MAGIC)) {
            throw ImageException.corrupt(op, "bad magic: not a hostd image bootstrap");
        }
        int major = Short.toUnsignedInt(h.getShort());
        int minor = Short.toUnsignedInt(h.getShort());
        if (major != MAJOR) {
            throw ImageException.corrupt(op, "format version " + major + "." + minor + " is not supported (this build reads "
                    + MAJOR + ".x); convert the image again with this version");
        }
        int chunkSize = h.getInt();
        if (chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE || Integer.bitCount(chunkSize) != 1) {
            throw ImageException.corrupt(op, "chunk size " + chunkSize + " is not a power of two in [4 KiB, 16 MiB]");
        }
        long bodyLength = h.getLong();
        int crc = h.getInt();
        int reserved = h.getInt();
        if (bodyLength != bytes.length - HEADER_SIZE) {
            throw ImageException.corrupt(op, "truncated or padded: header says " + bodyLength + " body bytes, file has "
                    + (bytes.length - HEADER_SIZE));
        }
        if (checksum(bytes) != crc) {
            throw ImageException.corrupt(op, "checksum mismatch: the file is corrupt");
        }
        if (reserved != 0) {
            throw ImageException.corrupt(op, "reserved header field is " + reserved + ", not 0");
        }
        Digest digest = Digest.sha256(bytes);
        return new BodyReader(op, ByteBuffer.wrap(bytes, HEADER_SIZE, bytes.length - HEADER_SIZE), chunkSize)
                .read(digest);
    }

    /** Parses the body; every read is bounds-checked and every reference range-checked. */
    private static final class BodyReader {
        private final String op;
        private final ByteBuffer in;
        private final int chunkSize;

        BodyReader(String op, ByteBuffer in, int chunkSize) {
            this.op = op;
            this.in = in;
            this.chunkSize = chunkSize;
        }

        private ImageException bad(String what) {
            return ImageException.corrupt(op, what + " (at body byte " + (in.position() - HEADER_SIZE) + ")");
        }

        private void need(long n, String what) {
            if (n < 0 || in.remaining() < n) {
                throw bad("truncated while reading " + what);
            }
        }

        private int count(int minRecord, String what) {
            need(4, what + " count");
            long n = Integer.toUnsignedLong(in.getInt());
            if (n * minRecord > in.remaining()) {
                throw bad(what + " count " + n + " does not fit in the remaining " + in.remaining() + " bytes");
            }
            return (int) n;
        }

        private byte[] bytes(int n, String what) {
            need(n, what);
            byte[] b = new byte[n];
            in.get(b);
            return b;
        }

        Bootstrap read(Digest digest) {
            int blobCount = count(40, "blob");
            List<BlobInfo> blobs = new ArrayList<>(blobCount);
            for (int i = 0; i < blobCount; i++) {
                Digest d = Digest.of(bytes(32, "blob digest"));
                need(8, "blob size");
                long size = in.getLong();
                if (size < 0) {
                    throw bad("blob " + i + " has negative size");
                }
                blobs.add(new BlobInfo(d, size));
            }
            int chunkCount = count(56, "chunk");
            List<ChunkInfo> chunks = new ArrayList<>(chunkCount);
            for (int i = 0; i < chunkCount; i++) {
                Digest d = Digest.of(bytes(32, "chunk digest"));
                need(24, "chunk record");
                int blob = in.getInt();
                long offset = in.getLong();
                int stored = in.getInt();
                int size = in.getInt();
                int flags = in.getInt();
                if (blob < 0 || blob >= blobCount) {
                    throw bad("chunk " + i + " names blob " + Integer.toUnsignedString(blob) + " of " + blobCount);
                }
                if (size <= 0 || size > chunkSize) {
                    throw bad("chunk " + i + " has size " + size + ", outside (0, " + chunkSize + "]");
                }
                if ((flags & ~ChunkInfo.FLAG_LZ4) != 0) {
                    throw bad("chunk " + i + " has unknown flags 0x" + Integer.toHexString(flags));
                }
                boolean lz4 = (flags & ChunkInfo.FLAG_LZ4) != 0;
                if (lz4 ? (stored <= 0 || stored >= size) : stored != size) {
                    throw bad("chunk " + i + " stored size " + stored + " does not fit its size " + size
                            + (lz4 ? " (LZ4 only when smaller)" : " (raw)"));
                }
                if (offset < 0 || offset > blobs.get(blob).size() - stored) {
                    throw bad("chunk " + i + " at offset " + offset + " + " + stored + " is outside blob " + blob
                            + " of " + blobs.get(blob).size() + " bytes");
                }
                chunks.add(new ChunkInfo(d, blob, offset, stored, size, flags));
            }
            int nodeCount = count(42, "node");
            if (nodeCount == 0) {
                throw bad("no root directory");
            }
            List<Node> nodes = new ArrayList<>(nodeCount);
            for (int i = 0; i < nodeCount; i++) {
                nodes.add(readNode(i, chunks, nodeCount));
            }
            if (in.hasRemaining()) {
                throw bad(in.remaining() + " unexpected bytes after the node table");
            }
            return new Bootstrap(chunkSize, blobs, chunks, nodes, linkCounts(nodes), digest);
        }

        private Node readNode(int index, List<ChunkInfo> chunks, int nodeCount) {
            need(40, "node " + index);
            int mode = in.getInt();
            int uid = in.getInt();
            int gid = in.getInt();
            long mtime = in.getLong();
            int nanos = in.getInt();
            long size = in.getLong();
            long rdev = in.getLong();
            if (nanos < 0 || nanos > 999_999_999) {
                throw bad("node " + index + " has mtime nanoseconds " + nanos);
            }
            need(2, "xattr count");
            int xattrCount = Short.toUnsignedInt(in.getShort());
            TreeMap<String, byte[]> xattrs = new TreeMap<>();
            for (int x = 0; x < xattrCount; x++) {
                need(2, "xattr name length");
                String name = new String(bytes(Short.toUnsignedInt(in.getShort()), "xattr name"), StandardCharsets.UTF_8);
                need(4, "xattr value length");
                int len = in.getInt();
                if (len < 0 || len > 65536) {
                    throw bad("node " + index + " xattr '" + name + "' has length " + len);
                }
                if (name.isEmpty() || xattrs.put(name, bytes(len, "xattr value")) != null) {
                    throw bad("node " + index + " has an empty or repeated xattr name '" + name + "'");
                }
            }
            String link = null;
            int[] fileChunks = null;
            List<Node.DirEntry> entries = null;
            switch (mode & Node.S_IFMT) {
                case Node.S_IFLNK -> {
                    need(2, "symlink length");
                    int len = Short.toUnsignedInt(in.getShort());
                    if (len == 0 || len > MAX_LINK) {
                        throw bad("node " + index + " symlink target length " + len);
                    }
                    link = new String(bytes(len, "symlink target"), StandardCharsets.UTF_8);
                    if (size != len) {
                        throw bad("node " + index + " symlink size " + size + " is not its target's length " + len);
                    }
                }
                case Node.S_IFREG -> {
                    int n = count(4, "node " + index + " chunk");
                    fileChunks = new int[n];
                    long sum = 0;
                    for (int k = 0; k < n; k++) {
                        int c = in.getInt();
                        if (c < 0 || c >= chunks.size()) {
                            throw bad("node " + index + " names chunk " + Integer.toUnsignedString(c) + " of " + chunks.size());
                        }
                        int cs = chunks.get(c).size();
                        if (k < n - 1 && cs != chunkSize) {
                            throw bad("node " + index + " chunk " + k + " is " + cs + " bytes; only the last may be short");
                        }
                        fileChunks[k] = c;
                        sum += cs;
                    }
                    if (sum != size) {
                        throw bad("node " + index + " size " + size + " differs from its chunks' total " + sum);
                    }
                }
                case Node.S_IFDIR -> {
                    int n = count(6, "node " + index + " entry");
                    entries = new ArrayList<>(n);
                    String previous = null;
                    for (int k = 0; k < n; k++) {
                        need(1, "entry name length");
                        int len = Byte.toUnsignedInt(in.get());
                        String name = new String(bytes(len, "entry name"), StandardCharsets.UTF_8);
                        need(4, "entry node");
                        int child = in.getInt();
                        if (!validName(name)) {
                            throw bad("node " + index + " has an invalid entry name '" + name + "'");
                        }
                        if (previous != null && previous.compareTo(name) >= 0) {
                            throw bad("node " + index + " entries are not sorted or repeat '" + name + "'");
                        }
                        if (child <= 0 || child >= nodeCount) {
                            throw bad("node " + index + " entry '" + name + "' names node " + Integer.toUnsignedString(child)
                                    + " of " + nodeCount);
                        }
                        entries.add(new Node.DirEntry(name, child));
                        previous = name;
                    }
                }
                case Node.S_IFCHR, Node.S_IFBLK, Node.S_IFIFO, Node.S_IFSOCK -> {
                }
                default -> throw bad("node " + index + " has unknown file type in mode 0" + Integer.toOctalString(mode));
            }
            if (index == Bootstrap.ROOT && (mode & Node.S_IFMT) != Node.S_IFDIR) {
                throw bad("the root node is not a directory");
            }
            return new Node(mode, uid, gid, mtime, nanos, size, rdev, xattrs, link, fileChunks,
                    entries == null ? null : List.copyOf(entries));
        }

        /** Walks the tree from the root: each directory once, every node reachable, no cycles. */
        private int[] linkCounts(List<Node> nodes) {
            int[] counts = new int[nodes.size()];
            boolean[] seen = new boolean[nodes.size()];
            ArrayDeque<Integer> work = new ArrayDeque<>();
            work.add(Bootstrap.ROOT);
            seen[Bootstrap.ROOT] = true;
            counts[Bootstrap.ROOT] = 2;
            while (!work.isEmpty()) {
                int dir = work.poll();
                for (Node.DirEntry e : nodes.get(dir).entries()) {
                    Node child = nodes.get(e.node());
                    if (child.isDirectory()) {
                        if (seen[e.node()]) {
                            throw bad("directory node " + e.node() + " is named twice (a cycle or a directory hard link)");
                        }
                        counts[e.node()] += 2;
                        counts[dir]++;
                        work.add(e.node());
                    } else {
                        counts[e.node()]++;
                    }
                    seen[e.node()] = true;
                }
            }
            for (int i = 0; i < seen.length; i++) {
                if (!seen[i]) {
                    throw bad("node " + i + " is not reachable from the root");
                }
            }
            return counts;
        }
    }

    public static boolean validName(String name) {
        return !name.isEmpty() && !name.equals(".") && !name.equals("..") && name.indexOf('/') < 0
                && name.indexOf('\0') < 0 && name.getBytes(StandardCharsets.UTF_8).length <= MAX_NAME;
    }
}
