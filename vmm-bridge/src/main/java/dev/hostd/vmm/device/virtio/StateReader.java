package dev.hostd.vmm.device.virtio;

/**
 * Strict little-endian reader for saved device state. Every failure is a
 * {@link DeviceStateException} whose message starts with the name of what is being restored.
 */
public final class StateReader {
    private final String what;
    private final byte[] bytes;
    private int position;

    public StateReader(String what, byte[] bytes) {
        this.what = what;
        if (bytes == null) {
            throw new DeviceStateException(what + ": no state (null)");
        }
        this.bytes = bytes;
    }

    /** Reads the magic and version prefix and refuses anything else. */
    public void header(int magic, int version) {
        int m = u32("magic");
        if (m != magic) {
            throw fail(String.format("bad magic %#010x, expected %#010x", m, magic));
        }
        int v = u16("format version");
        if (v != version) {
            throw fail("unsupported format version " + v + ", this build reads version " + version);
        }
    }

    public int u8(String field) {
        need(1, field);
        return bytes[position++] & 0xff;
    }

    public int u16(String field) {
        need(2, field);
        int v = (bytes[position] & 0xff) | (bytes[position + 1] & 0xff) << 8;
        position += 2;
        return v;
    }

    public int u32(String field) {
        need(4, field);
        int v = 0;
        for (int i = 3; i >= 0; i--) {
            v = v << 8 | (bytes[position + i] & 0xff);
        }
        position += 4;
        return v;
    }

    public long u64(String field) {
        long low = Integer.toUnsignedLong(u32(field));
        long high = Integer.toUnsignedLong(u32(field));
        return high << 32 | low;
    }

    public boolean bool(String field) {
        int v = u8(field);
        if (v > 1) {
            throw fail(field + " must be 0 or 1, found " + v);
        }
        return v == 1;
    }

    public byte[] bytes(String field) {
        int length = u32(field + " length");
        if (length < 0 || length > bytes.length - position) {
            throw fail(field + " length " + Integer.toUnsignedString(length) + " exceeds the "
                    + (bytes.length - position) + " bytes left");
        }
        byte[] v = new byte[length];
        System.arraycopy(bytes, position, v, 0, length);
        position += length;
        return v;
    }

    /** Refuses trailing bytes. */
    public void end() {
        if (position != bytes.length) {
            throw fail((bytes.length - position) + " unexpected trailing bytes at offset " + position);
        }
    }

    public DeviceStateException fail(String message) {
        return new DeviceStateException(what + ": " + message);
    }

    private void need(int n, String field) {
        if (bytes.length - position < n) {
            throw fail("truncated: " + bytes.length + " bytes, need " + n + " more at offset " + position
                    + " for " + field);
        }
    }
}
