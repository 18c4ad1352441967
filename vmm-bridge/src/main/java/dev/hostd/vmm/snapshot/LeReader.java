package dev.hostd.vmm.snapshot;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A little-endian reader over one bounded range of a body. Every length it reads is checked
 * against the bytes that remain in its range before anything is allocated or skipped, and every
 * failure names the file, the place ({@code where}) and the file offset.
 */
final class LeReader {
    /** A record header as read: tag, flags, and where its payload lies in the buffer. */
    record Frame(int tag, int flags, int payloadStart, int length) {
        boolean required() {
            return (flags & Tags.FLAG_REQUIRED) != 0;
        }
    }

    static final int FRAME_HEADER_BYTES = 16;

    private final Path file;
    private final byte[] buf;
    private final long fileBase;
    private final String where;
    private final int end;
    private int pos;

    /** Reads {@code buf[from, to)}; {@code fileBase} is the file offset of {@code buf[0]}. */
    LeReader(Path file, byte[] buf, long fileBase, int from, int to, String where) {
        this.file = file;
        this.buf = buf;
        this.fileBase = fileBase;
        this.pos = from;
        this.end = to;
        this.where = where;
    }

    int remaining() {
        return end - pos;
    }

    /** File offset of the next byte. */
    long fileOffset() {
        return fileBase + pos;
    }

    int u32(String what) throws SnapshotFormatException {
        need(4, what);
        int v = 0;
        for (int i = 0; i < 4; i++) {
            v |= (buf[pos++] & 0xff) << (8 * i);
        }
        return v;
    }

    long u64(String what) throws SnapshotFormatException {
        need(8, what);
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v |= (buf[pos++] & 0xffL) << (8 * i);
        }
        return v;
    }

    byte[] bytes(int length, String what) throws SnapshotFormatException {
        need(length, what);
        byte[] out = Arrays.copyOfRange(buf, pos, pos + length);
        pos += length;
        return out;
    }

    /** u32 byte length, then that many bytes of valid UTF-8. */
    String string(String what) throws SnapshotFormatException {
        long start = fileOffset();
        long length = Integer.toUnsignedLong(u32(what + " length"));
        if (length > Limits.MAX_STRING_BYTES) {
            throw fail(what + " at offset " + start + " claims " + length + " bytes, more than the limit of "
                    + Limits.MAX_STRING_BYTES);
        }
        need((int) length, what);
        try {
            String s = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(buf, pos, (int) length))
                    .toString();
            pos += (int) length;
            return s;
        } catch (CharacterCodingException e) {
            throw fail(what + " at offset " + start + " is not valid UTF-8");
        }
    }

    /** A record header (u32 tag, u32 flags, u64 length) whose payload must lie within this range. */
    Frame frame(String kind) throws SnapshotFormatException {
        long at = fileOffset();
        if (remaining() < FRAME_HEADER_BYTES) {
            throw fail(remaining() + " stray bytes at offset " + at + " are too short for a " + kind + " header");
        }
        int tag = u32(kind + " tag");
        int flags = u32(kind + " flags");
        long length = u64(kind + " length");
        if (length < 0 || length > remaining()) {
            throw fail(kind + " " + Tags.describe(tag) + " at offset " + at + " claims "
                    + Long.toUnsignedString(length) + " bytes but only " + remaining() + " remain: it runs past "
                    + "the end of " + where);
        }
        if ((flags & ~Tags.FLAG_REQUIRED) != 0) {
            throw fail(kind + " " + Tags.describe(tag) + " at offset " + at + " has unknown flags "
                    + String.format("0x%08x", flags));
        }
        Frame f = new Frame(tag, flags, pos, (int) length);
        pos += (int) length;
        return f;
    }

    /** A reader over a frame's payload. */
    LeReader payload(Frame frame, String innerWhere) {
        return new LeReader(file, buf, fileBase, frame.payloadStart(), frame.payloadStart() + frame.length(),
                innerWhere);
    }

    /** Refuses bytes left over after the last field this version knows. */
    void expectEnd() throws SnapshotFormatException {
        if (remaining() != 0) {
            throw fail(remaining() + " unexpected bytes at offset " + fileOffset() + " after its last field");
        }
    }

    SnapshotFormatException fail(String problem) {
        return new SnapshotFormatException(file, where + ": " + problem);
    }

    private void need(int length, String what) throws SnapshotFormatException {
        if (length < 0 || length > remaining()) {
            throw fail(what + " at offset " + fileOffset() + " needs " + length + " bytes but only " + remaining()
                    + " remain");
        }
    }
}
