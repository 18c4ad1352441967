package dev.hostd.vmm.snapshot;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.zip.CRC32C;

/**
 * The fixed 32-byte header of a state file:
 * magic, u16 major, u16 minor, u32 flags, u64 body length, u32 body CRC32C, u32 header CRC32C.
 *
 * <p>The first 12 bytes (magic and version) are the part every future major version keeps, so
 * that a reader can always say which version it was handed before it trusts anything else.
 */
record SnapshotHeader(int major, int minor, int flags, long bodyLength, int bodyCrc32c) {
    static final int SIZE = 32;
    static final byte[] MAGIC = "HOSTDSNP".getBytes(StandardCharsets.US_ASCII);
    /** Bytes covered by the header checksum: everything before it. */
    private static final int CRC_COVERS = 28;

    byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).putShort((short) major).putShort((short) minor).putInt(flags).putLong(bodyLength)
                .putInt(bodyCrc32c);
        b.putInt(crc32c(b.array(), 0, CRC_COVERS));
        return b.array();
    }

    /**
     * Decodes and checks the header from the first {@code head.length} (at most 32) bytes of {@code file}:
     * magic, major version, header checksum, flags and the body-length cap, in that order.
     */
    static SnapshotHeader decode(Path file, byte[] head) throws SnapshotFormatException {
        int n = head.length;
        int prefix = Math.min(n, MAGIC.length);
        if (n == 0) {
            throw new SnapshotFormatException(file, "not a hostd snapshot: the file is empty");
        }
        if (!Arrays.equals(head, 0, prefix, MAGIC, 0, prefix)) {
            throw new SnapshotFormatException(file, "not a hostd snapshot: bad magic "
                    + HexFormat.of().formatHex(head, 0, prefix) + " (expected \"HOSTDSNP\")");
        }
        if (n < 12) {
            throw truncatedHeader(file, n);
        }
        ByteBuffer b = ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN);
        int major = Short.toUnsignedInt(b.getShort(8));
        int minor = Short.toUnsignedInt(b.getShort(10));
        if (major != SnapshotFile.FORMAT_MAJOR) {
            throw new SnapshotFormatException(file, "snapshot format " + major + "." + minor
                    + " is not supported by this hostd, which reads " + SnapshotFile.FORMAT_MAJOR
                    + ".x: rebuild the template");
        }
        if (n < SIZE) {
            throw truncatedHeader(file, n);
        }
        int stored = b.getInt(CRC_COVERS);
        int computed = crc32c(head, 0, CRC_COVERS);
        if (stored != computed) {
            throw new SnapshotFormatException(file, String.format(
                    "corrupt: header checksum mismatch (stored 0x%08x, computed 0x%08x)", stored, computed));
        }
        int flags = b.getInt(12);
        if (flags != 0) {
            throw new SnapshotFormatException(file, String.format("unknown header flags 0x%08x", flags));
        }
        long bodyLength = b.getLong(16);
        if (bodyLength < 0 || bodyLength > Limits.MAX_BODY_BYTES) {
            throw new SnapshotFormatException(file, "header promises " + Long.toUnsignedString(bodyLength)
                    + " body bytes, more than the limit of " + Limits.MAX_BODY_BYTES);
        }
        return new SnapshotHeader(major, minor, flags, bodyLength, b.getInt(24));
    }

    private static SnapshotFormatException truncatedHeader(Path file, int n) {
        return new SnapshotFormatException(file, "truncated: the file has " + n + " bytes, the header alone is " + SIZE);
    }

    static int crc32c(byte[] bytes, int offset, int length) {
        CRC32C crc = new CRC32C();
        crc.update(bytes, offset, length);
        return (int) crc.getValue();
    }
}
