package dev.hostd.vmm.device.virtio;

import java.io.ByteArrayOutputStream;

/** Little-endian writer for the small versioned binary encodings of device state. */
public final class StateWriter {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream(128);

    public StateWriter u8(int value) {
        out.write(value);
        return this;
    }

    public StateWriter u16(int value) {
        return u8(value).u8(value >>> 8);
    }

    public StateWriter u32(int value) {
        return u16(value).u16(value >>> 16);
    }

    public StateWriter u64(long value) {
        return u32((int) value).u32((int) (value >>> 32));
    }

    /** A u32 length followed by the bytes. */
    public StateWriter bytes(byte[] value) {
        u32(value.length);
        out.writeBytes(value);
        return this;
    }

    public byte[] toByteArray() {
        return out.toByteArray();
    }
}
