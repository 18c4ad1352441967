package dev.hostd.vmm.device.serial;

import dev.hostd.vmm.device.virtio.DeviceStateException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** The UART's guest-visible registers, kept apart from the device so a snapshot can carry them. */
public record SerialState(int ier, int fcr, int lcr, int mcr, int scr, int dll, int dlm) {
    public static final SerialState RESET = new SerialState(0, 0, 0x03, 0x08, 0, 0x0C, 0);
    private static final int VERSION = 1;

    SerialState withIer(int v) { return new SerialState(v, fcr, lcr, mcr, scr, dll, dlm); }
    SerialState withFcr(int v) { return new SerialState(ier, v, lcr, mcr, scr, dll, dlm); }
    SerialState withLcr(int v) { return new SerialState(ier, fcr, v, mcr, scr, dll, dlm); }
    SerialState withMcr(int v) { return new SerialState(ier, fcr, lcr, v, scr, dll, dlm); }
    SerialState withScr(int v) { return new SerialState(ier, fcr, lcr, mcr, v, dll, dlm); }
    SerialState withDll(int v) { return new SerialState(ier, fcr, lcr, mcr, scr, v, dlm); }
    SerialState withDlm(int v) { return new SerialState(ier, fcr, lcr, mcr, scr, dll, v); }

    public byte[] toBytes() {
        return new byte[] {VERSION, (byte) ier, (byte) fcr, (byte) lcr, (byte) mcr, (byte) scr, (byte) dll, (byte) dlm};
    }

    public static SerialState fromBytes(byte[] bytes) {
        if (bytes.length != 8 || bytes[0] != VERSION) {
            throw new DeviceStateException("serial state: expected 8 bytes of version " + VERSION + ", got "
                    + bytes.length + " bytes" + (bytes.length > 0 ? " of version " + bytes[0] : ""));
        }
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        b.get();
        return new SerialState(b.get() & 0xFF, b.get() & 0xFF, b.get() & 0xFF, b.get() & 0xFF, b.get() & 0xFF, b.get() & 0xFF, b.get() & 0xFF);
    }
}
