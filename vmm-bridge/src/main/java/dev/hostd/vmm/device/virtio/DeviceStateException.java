package dev.hostd.vmm.device.virtio;

/** Saved device or transport state that cannot be restored: truncated, corrupt or inconsistent. */
public final class DeviceStateException extends RuntimeException {
    public DeviceStateException(String message) {
        super(message);
    }
}
