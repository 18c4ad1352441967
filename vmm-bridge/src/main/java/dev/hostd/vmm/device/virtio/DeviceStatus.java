package dev.hostd.vmm.device.virtio;

/** Bits of the device status register (virtio 1.2 §2.1). */
public final class DeviceStatus {
    public static final int ACKNOWLEDGE = 0x01;
    public static final int DRIVER = 0x02;
    public static final int DRIVER_OK = 0x04;
    public static final int FEATURES_OK = 0x08;
    public static final int DEVICE_NEEDS_RESET = 0x40;
    public static final int FAILED = 0x80;

    static final int ALL = ACKNOWLEDGE | DRIVER | DRIVER_OK | FEATURES_OK | DEVICE_NEEDS_RESET | FAILED;

    private DeviceStatus() {}
}
