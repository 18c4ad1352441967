package dev.hostd.vmm.device.virtio;

import dev.hostd.vmm.device.MmioDevice;
import dev.hostd.vmm.memory.GuestMemory;
import java.util.ArrayList;
import java.util.List;

/**
 * A polled virtio-mmio driver written as a guest would: it only reads and writes registers through
 * {@link MmioDevice} and builds rings in guest memory (test code).
 */
public final class FakeGuestDriver {
    public static final int MAGIC = 0x000, VERSION = 0x004, DEVICE_ID = 0x008, VENDOR_ID = 0x00c,
            DEVICE_FEATURES = 0x010, DEVICE_FEATURES_SEL = 0x014, DRIVER_FEATURES = 0x020, DRIVER_FEATURES_SEL = 0x024,
            QUEUE_SEL = 0x030, QUEUE_NUM_MAX = 0x034, QUEUE_NUM = 0x038, QUEUE_READY = 0x044, QUEUE_NOTIFY = 0x050,
            INTERRUPT_STATUS = 0x060, INTERRUPT_ACK = 0x064, STATUS = 0x070, QUEUE_DESC_LOW = 0x080,
            QUEUE_DESC_HIGH = 0x084, QUEUE_DRIVER_LOW = 0x090, QUEUE_DRIVER_HIGH = 0x094, QUEUE_DEVICE_LOW = 0x0a0,
            QUEUE_DEVICE_HIGH = 0x0a4, CONFIG_GENERATION = 0x0fc, CONFIG = 0x100;

    public final MmioDevice device;
    public final GuestMemory memory;
    private long next;

    public FakeGuestDriver(MmioDevice device, GuestMemory memory, long heapStart) {
        this.device = device;
        this.memory = memory;
        this.next = heapStart;
    }

    public int reg(int offset) {
        return (int) device.read(offset, 4);
    }

    public void setReg(int offset, int value) {
        device.write(offset, 4, Integer.toUnsignedLong(value));
    }

    public int status() {
        return reg(STATUS);
    }

    /** Bump allocation of guest memory, zeroed. */
    public long alloc(long size, long align) {
        long at = (next + align - 1) & -align;
        next = at + size;
        memory.slice(at, size).fill((byte) 0);
        return at;
    }

    public long deviceFeatures() {
        setReg(DEVICE_FEATURES_SEL, 0);
        long low = Integer.toUnsignedLong(reg(DEVICE_FEATURES));
        setReg(DEVICE_FEATURES_SEL, 1);
        return (Integer.toUnsignedLong(reg(DEVICE_FEATURES)) << 32) | low;
    }

    /** Reset, ACKNOWLEDGE, DRIVER, write features, FEATURES_OK; true if the device kept FEATURES_OK. */
    public boolean negotiate(long features) {
        setReg(STATUS, 0);
        setReg(STATUS, DeviceStatus.ACKNOWLEDGE);
        setReg(STATUS, DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER);
        setReg(DRIVER_FEATURES_SEL, 0);
        setReg(DRIVER_FEATURES, (int) features);
        setReg(DRIVER_FEATURES_SEL, 1);
        setReg(DRIVER_FEATURES, (int) (features >>> 32));
        setReg(STATUS, DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER | DeviceStatus.FEATURES_OK);
        return (status() & DeviceStatus.FEATURES_OK) != 0;
    }

    /** Allocates and programs queue {@code index} with {@code size} entries, marks it ready, polled (NO_INTERRUPT). */
    public GuestQueue setupQueue(int index, int size) {
        setReg(QUEUE_SEL, index);
        if (reg(QUEUE_READY) != 0) {
            throw new IllegalStateException("queue " + index + " already ready");
        }
        long desc = alloc(16L * size, 16);
        long avail = alloc(6L + 2L * size, 2);
        long used = alloc(6L + 8L * size, 4);
        program(index, size, desc, avail, used);
        setReg(QUEUE_READY, 1);
        GuestQueue q = new GuestQueue(memory, index, size, desc, avail, used);
        q.setAvailFlags(Virtqueue.AVAIL_F_NO_INTERRUPT);
        return q;
    }

    public void program(int index, int size, long desc, long avail, long used) {
        setReg(QUEUE_SEL, index);
        setReg(QUEUE_NUM, size);
        setReg(QUEUE_DESC_LOW, (int) desc);
        setReg(QUEUE_DESC_HIGH, (int) (desc >>> 32));
        setReg(QUEUE_DRIVER_LOW, (int) avail);
        setReg(QUEUE_DRIVER_HIGH, (int) (avail >>> 32));
        setReg(QUEUE_DEVICE_LOW, (int) used);
        setReg(QUEUE_DEVICE_HIGH, (int) (used >>> 32));
    }

    public void driverOk() {
        setReg(STATUS, status() | DeviceStatus.DRIVER_OK);
    }

    /** The whole init sequence of virtio 1.2 §3.1.1; throws if the device refuses. */
    public List<GuestQueue> init(long features, int queueCount, int queueSize) {
        if (reg(MAGIC) != 0x74726976 || reg(VERSION) != 2) {
            throw new IllegalStateException("not a virtio-mmio v2 device");
        }
        if (!negotiate(features)) {
            throw new IllegalStateException("device refused features " + Long.toHexString(features));
        }
        List<GuestQueue> queues = new ArrayList<>();
        for (int i = 0; i < queueCount; i++) {
            queues.add(setupQueue(i, queueSize));
        }
        driverOk();
        if ((status() & DeviceStatus.DRIVER_OK) == 0) {
            throw new IllegalStateException("device did not accept DRIVER_OK: status " + Integer.toHexString(status()));
        }
        return queues;
    }

    public void notify(int queue) {
        setReg(QUEUE_NOTIFY, queue);
    }
}
