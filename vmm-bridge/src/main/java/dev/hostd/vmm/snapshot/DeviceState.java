package dev.hostd.vmm.snapshot;

import java.util.Arrays;
import java.util.Objects;

/**
 * One device's saved state. The snapshot format does not look inside {@code data}; the device
 * that wrote it reads it back.
 *
 * @param name a name unique within the VM, e.g. {@code "vsock0"}
 * @param kind the transport and function, e.g. {@code "virtio-mmio/vsock"}
 * @param data the device's own bytes (copied in and out)
 */
public record DeviceState(String name, String kind, byte[] data) {
    public DeviceState {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(kind, "kind");
        data = data.clone();
    }

    @Override
    public byte[] data() {
        return data.clone();
    }

    /** The length of {@link #data()} without copying it. */
    public int dataLength() {
        return data.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DeviceState d && name.equals(d.name) && kind.equals(d.kind) && Arrays.equals(data, d.data);
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, kind, Arrays.hashCode(data));
    }

    @Override
    public String toString() {
        return "DeviceState[name=" + name + ", kind=" + kind + ", data=" + data.length + " bytes]";
    }
}
