package dev.hostd.vmm.snapshot;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** A growable little-endian byte sink for encoding a body. */
final class LeWriter {
    private byte[] buf = new byte[16 << 10];
    private int size;

    int size() {
        return size;
    }

    byte[] toByteArray() {
        return Arrays.copyOf(buf, size);
    }

    LeWriter u32(int value) {
        ensure(4);
        for (int i = 0; i < 4; i++) {
            buf[size++] = (byte) (value >>> (8 * i));
        }
        return this;
    }

    LeWriter u64(long value) {
        ensure(8);
        for (int i = 0; i < 8; i++) {
            buf[size++] = (byte) (value >>> (8 * i));
        }
        return this;
    }

    LeWriter bytes(byte[] bytes) {
        ensure(bytes.length);
        System.arraycopy(bytes, 0, buf, size, bytes.length);
        size += bytes.length;
        return this;
    }

    /** u32 byte length, then the UTF-8 bytes; refuses strings that are not valid Unicode. */
    LeWriter string(String what, String value) {
        byte[] utf8;
        try {
            ByteBuffer encoded = StandardCharsets.UTF_8.newEncoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .encode(CharBuffer.wrap(value));
            utf8 = Arrays.copyOf(encoded.array(), encoded.limit());
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException(what + " is not valid Unicode (unpaired surrogate?)", e);
        }
        if (utf8.length > Limits.MAX_STRING_BYTES) {
            throw new IllegalArgumentException(what + " is " + utf8.length + " UTF-8 bytes, at most "
                    + Limits.MAX_STRING_BYTES + " are allowed");
        }
        return u32(utf8.length).bytes(utf8);
    }

    /** Writes a record header with a length to be patched by {@link #end}; returns the patch position. */
    int begin(int tag, int flags) {
        u32(tag).u32(flags).u64(0);
        return size;
    }

    /** Patches the length of the record begun at {@code payloadStart}. */
    void end(int payloadStart) {
        long length = size - payloadStart;
        for (int i = 0; i < 8; i++) {
            buf[payloadStart - 8 + i] = (byte) (length >>> (8 * i));
        }
    }

    /** A whole record: header and payload. */
    LeWriter record(int tag, int flags, byte[] payload) {
        int start = begin(tag, flags);
        bytes(payload);
        end(start);
        return this;
    }

    private void ensure(int more) {
        long needed = (long) size + more;
        if (needed > Limits.MAX_BODY_BYTES) {
            throw new IllegalArgumentException("snapshot body would exceed " + Limits.MAX_BODY_BYTES + " bytes");
        }
        if (needed > buf.length) {
            buf = Arrays.copyOf(buf, (int) Math.min(Limits.MAX_BODY_BYTES, Math.max(needed, 2L * buf.length)));
        }
    }
}
