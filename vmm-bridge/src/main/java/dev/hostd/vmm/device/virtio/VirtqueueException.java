package dev.hostd.vmm.device.virtio;

/**
 * The driver broke the virtqueue contract: a descriptor outside guest RAM, a loop, a chain longer
 * than the queue, an impossible available index. The transport answers by setting
 * DEVICE_NEEDS_RESET and stops processing the device; it never escapes to the VMM.
 */
public final class VirtqueueException extends RuntimeException {
    public VirtqueueException(String message) {
        super(message);
    }
}
