package dev.hostd.vmm.acpi;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** A growable little-endian byte buffer: ACPI tables and AML are all little-endian. */
final class ByteWriter {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    ByteWriter u8(int v) {
        out.write(v & 0xFF);
        return this;
    }

    ByteWriter u16(int v) {
        return u8(v).u8(v >>> 8);
    }

    ByteWriter u32(long v) {
        return u16((int) v).u16((int) (v >>> 16));
    }

    ByteWriter u64(long v) {
        return u32(v).u32(v >>> 32);
    }

    ByteWriter bytes(byte[] b) {
        out.writeBytes(b);
        return this;
    }

    /** ASCII text padded with spaces (or cut) to exactly {@code width} bytes, as OEM IDs are. */
    ByteWriter ascii(String s, int width) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < width; i++) {
            u8(i < b.length ? b[i] : ' ');
        }
        return this;
    }

    ByteWriter zeros(int n) {
        for (int i = 0; i < n; i++) {
            u8(0);
        }
        return this;
    }

    int size() {
        return out.size();
    }

    byte[] toByteArray() {
        return out.toByteArray();
    }
}
