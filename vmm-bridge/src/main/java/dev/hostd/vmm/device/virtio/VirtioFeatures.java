package dev.hostd.vmm.device.virtio;

/** Feature bits shared by every virtio device (virtio 1.2 §6). */
public final class VirtioFeatures {
    /** VIRTIO_F_VERSION_1: the device follows the virtio 1.x ("modern") specification. */
    public static final long VERSION_1 = 1L << 32;

    private VirtioFeatures() {}
}
