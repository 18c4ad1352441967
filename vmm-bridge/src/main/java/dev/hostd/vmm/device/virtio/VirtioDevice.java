package dev.hostd.vmm.device.virtio;

import dev.hostd.vmm.device.GuestWaker;
import dev.hostd.vmm.memory.GuestMemory;
import java.util.List;

/**
 * The function of a virtio device, independent of its transport (virtio-mmio here). Every method
 * except those documented otherwise by the device is called on the vCPU thread. Any exception a
 * device throws from {@link #queueNotify} or {@link #service} (typically {@link VirtqueueException})
 * makes the transport set DEVICE_NEEDS_RESET and stop calling the device until the driver resets it.
 */
public interface VirtioDevice {
    /** The virtio device ID (19 for vsock). */
    int deviceId();

    /** Feature bits the device offers; must include {@link VirtioFeatures#VERSION_1}. */
    long availableFeatures();

    int queueCount();

    int maxQueueSize(int queueIndex);

    /** Reads device-specific configuration space; out-of-range bytes read as 0. */
    long readConfig(int offset, int size);

    void writeConfig(int offset, int size, long value);

    /**
     * The driver set DRIVER_OK: the device may now use the queues (index = queue index; a queue the
     * driver did not set up has {@link Virtqueue#ready()} false) and call {@code waker} from any thread.
     */
    void activate(GuestMemory memory, List<Virtqueue> queues, GuestWaker waker);

    /** The driver notified queue {@code queueIndex}; process it before returning. */
    void queueNotify(int queueIndex);

    /** Delivers pending host work into the queues; true if anything became guest-visible. */
    boolean service();

    /** The driver wrote status 0: forget everything negotiated and every queue. */
    void reset();

    /** Device-specific state (not the queues, which the transport saves). */
    byte[] saveState();

    /**
     * Restores {@link #saveState()} output; throws {@link DeviceStateException} on bad bytes, changing
     * nothing. On success the device has dropped its runtime state and is inactive until the next
     * {@link #activate}, which the transport calls if the restored status has DRIVER_OK.
     */
    void restoreState(byte[] state);
}
