package dev.hostd.vmm.device.virtio;

import static dev.hostd.vmm.device.virtio.MmioRegisters.*;

import dev.hostd.vmm.device.GuestWaker;
import dev.hostd.vmm.device.MmioDevice;
import dev.hostd.vmm.memory.GuestMemory;
import dev.hostd.vmm.memory.GuestMemoryException;
import java.util.ArrayList;
import java.util.List;

/**
 * The virtio-mmio version 2 transport (virtio 1.2 §4.2.2): registers, feature negotiation, the
 * status state machine and the queues of one {@link VirtioDevice}. Called on the vCPU thread only.
 *
 * <p>Illegal driver behaviour never throws out of {@link #write}: a refused FEATURES_OK is simply not
 * set, a bad queue configuration or a malformed descriptor chain sets DEVICE_NEEDS_RESET, after which
 * the device is not called again until the driver writes status 0.
 */
public final class VirtioMmioTransport implements MmioDevice {
    private static final System.Logger LOG = System.getLogger(VirtioMmioTransport.class.getName());

    private final VirtioDevice device;
    private final GuestMemory memory;
    private final GuestWaker waker;
    private final InterruptLine interrupt;
    private final List<Virtqueue> queues;

    private int status;
    private final FeatureNegotiation features = new FeatureNegotiation();
    private int queueSel;
    private int interruptStatus;
    private int configGeneration;
    private boolean active;

    public VirtioMmioTransport(VirtioDevice device, GuestMemory memory, GuestWaker waker) {
        this(device, memory, waker, InterruptLine.NONE);
    }

    /** With an interrupt line for guests that take interrupts (the seam for irqfd; polled guests use NONE). */
    public VirtioMmioTransport(VirtioDevice device, GuestMemory memory, GuestWaker waker, InterruptLine interrupt) {
        if ((device.availableFeatures() & VirtioFeatures.VERSION_1) == 0) {
            throw new IllegalArgumentException("device " + device.deviceId() + " does not offer VIRTIO_F_VERSION_1");
        }
        this.device = device;
        this.memory = memory;
        this.waker = waker;
        this.interrupt = interrupt;
        List<Virtqueue> qs = new ArrayList<>();
        for (int i = 0; i < device.queueCount(); i++) {
            qs.add(new Virtqueue(memory, device.maxQueueSize(i)));
        }
        this.queues = List.copyOf(qs);
    }

    public int status() {
        return status;
    }

    public int interruptStatus() {
        return interruptStatus;
    }

    public VirtioDevice device() {
        return device;
    }

    @Override
    public long read(long offset, int size) {
        if (offset >= CONFIG && offset < WINDOW) {
            return device.readConfig((int) (offset - CONFIG), size);
        }
        if (size != 4 || (offset & 3) != 0) {
            return 0;
        }
        return Integer.toUnsignedLong(switch ((int) offset) {
            case MAGIC_VALUE -> MAGIC;
            case VERSION -> MMIO_VERSION;
            case DEVICE_ID -> device.deviceId();
            case VENDOR_ID -> VENDOR;
            case DEVICE_FEATURES -> features.deviceWord(device.availableFeatures());
            case QUEUE_NUM_MAX -> selectedQueue() == null ? 0 : selectedQueue().maxSize();
            case QUEUE_READY -> selectedQueue() != null && selectedQueue().ready() ? 1 : 0;
            case INTERRUPT_STATUS -> interruptStatus;
            case STATUS -> status;
            case SHM_LEN_LOW, SHM_LEN_HIGH, SHM_BASE_LOW, SHM_BASE_HIGH -> -1; // no shared memory regions
            case CONFIG_GENERATION -> configGeneration;
            default -> 0;
        });
    }

    @Override
    public void write(long offset, int size, long value) {
        if (offset >= CONFIG && offset < WINDOW) {
            device.writeConfig((int) (offset - CONFIG), size, value);
            return;
        }
        if (size != 4 || (offset & 3) != 0) {
            LOG.log(System.Logger.Level.DEBUG, "ignored {0}-byte write at register {1}", size, offset);
            return;
        }
        int v = (int) value;
        switch ((int) offset) {
            case DEVICE_FEATURES_SEL -> features.deviceSel = v;
            case DRIVER_FEATURES_SEL -> features.driverSel = v;
            case DRIVER_FEATURES -> features.writeDriverWord(v,
                    (status & (DeviceStatus.FEATURES_OK | DeviceStatus.DRIVER_OK)) != 0);
            case QUEUE_SEL -> queueSel = v;
            case QUEUE_NUM -> configureQueue(q -> q.setSize(v));
            case QUEUE_DESC_LOW -> configureQueue(q -> q.setDescTable(low(q.descTable(), v)));
            case QUEUE_DESC_HIGH -> configureQueue(q -> q.setDescTable(high(q.descTable(), v)));
            case QUEUE_DRIVER_LOW -> configureQueue(q -> q.setAvailRing(low(q.availRing(), v)));
            case QUEUE_DRIVER_HIGH -> configureQueue(q -> q.setAvailRing(high(q.availRing(), v)));
            case QUEUE_DEVICE_LOW -> configureQueue(q -> q.setUsedRing(low(q.usedRing(), v)));
            case QUEUE_DEVICE_HIGH -> configureQueue(q -> q.setUsedRing(high(q.usedRing(), v)));
            case QUEUE_READY -> writeQueueReady(v);
            case QUEUE_NOTIFY -> notifyQueue(v);
            case INTERRUPT_ACK -> interruptStatus &= ~v;
            case STATUS -> writeStatus(v);
            default -> LOG.log(System.Logger.Level.DEBUG, "ignored write to register {0}", offset);
        }
    }

    /** Where a guest writes a queue's index to notify it: the address (base + this) an ioeventfd can take. */
    public static final int QUEUE_NOTIFY_OFFSET = QUEUE_NOTIFY;

    /**
     * The guest notified one or more queues through an ioeventfd, which counts writes but does not
     * keep the queue index written: every ready queue is looked at, as if notified.
     */
    public void notifyAllQueues() {
        for (int i = 0; i < queues.size(); i++) {
            notifyQueue(i);
        }
    }

    /** Delivers pending host work of the device; true if it put anything guest-visible into a used ring. */
    public boolean service() {
        if (!active || broken()) {
            return false;
        }
        boolean visible;
        try {
            visible = device.service();
        } catch (RuntimeException e) {
            fail("service", e);
            return true;
        }
        return signalUsed(false) || visible;
    }

    private void configureQueue(java.util.function.Consumer<Virtqueue> change) {
        Virtqueue q = selectedQueue();
        if (q == null || q.ready() || (status & DeviceStatus.DRIVER_OK) != 0) {
            return; // the driver must not touch a live queue's configuration
        }
        change.accept(q);
    }

    private void writeQueueReady(int v) {
        Virtqueue q = selectedQueue();
        if (q == null || (status & DeviceStatus.DRIVER_OK) != 0) {
            return;
        }
        if (v == 0) {
            q.setNotReady();
            return;
        }
        String problem = q.makeReady();
        if (problem != null) {
            needsReset("queue " + queueSel + ": " + problem);
        }
    }

    private void writeStatus(int v) {
        if (v == 0) {
            reset();
            return;
        }
        int requested = v & DeviceStatus.ALL & ~DeviceStatus.DEVICE_NEEDS_RESET;
        if ((requested & status) != (status & ~DeviceStatus.DEVICE_NEEDS_RESET)) {
            LOG.log(System.Logger.Level.DEBUG, "driver tried to clear status bits: {0} -> {1}", status, v);
            return;
        }
        int added = requested & ~status;
        if ((added & DeviceStatus.FEATURES_OK) != 0 && !features.acceptable(device.availableFeatures())) {
            requested &= ~DeviceStatus.FEATURES_OK; // the driver reads back and sees the refusal
            added &= ~DeviceStatus.FEATURES_OK;
        }
        status = requested | (status & DeviceStatus.DEVICE_NEEDS_RESET);
        if ((added & DeviceStatus.DRIVER_OK) != 0) {
            if ((status & DeviceStatus.FEATURES_OK) == 0) {
                needsReset("DRIVER_OK without FEATURES_OK");
            } else if (!broken()) {
                activate();
            }
        }
    }

    private void activate() {
        try {
            device.activate(memory, queues, waker);
            active = true;
        } catch (RuntimeException e) {
            fail("activate", e);
        }
    }

    private void notifyQueue(int index) {
        if (!active || broken() || index < 0 || index >= queues.size() || !queues.get(index).ready()) {
            return;
        }
        try {
            device.queueNotify(index);
        } catch (RuntimeException e) {
            fail("queue " + index + " notify", e);
            return;
        }
        signalUsed(true);
    }

    /** Sets InterruptStatus bit 0 if any queue got used buffers; raises the line unless every such queue suppresses it. */
    private boolean signalUsed(boolean wake) {
        boolean added = false;
        boolean wantInterrupt = false;
        for (Virtqueue q : queues) {
            if (q.takeUsedAdded()) {
                added = true;
                wantInterrupt |= !q.interruptSuppressed();
            }
        }
        if (added) {
            interruptStatus |= INTERRUPT_USED_BUFFER;
            if (wantInterrupt) {
                interrupt.raise();
            }
            if (wake) {
                waker.wake();
            }
        }
        return added;
    }

    private void fail(String where, RuntimeException e) {
        if (!(e instanceof VirtqueueException || e instanceof GuestMemoryException)) { // a device bug: keep the trace
            LOG.log(System.Logger.Level.ERROR, "virtio device " + device.deviceId() + " " + where + " failed", e);
        }
        needsReset(where + ": " + e.getMessage());
    }

    private void needsReset(String why) {
        LOG.log(System.Logger.Level.WARNING, "virtio device {0} needs reset: {1}", device.deviceId(), why);
        status |= DeviceStatus.DEVICE_NEEDS_RESET;
        if ((status & DeviceStatus.DRIVER_OK) != 0) {
            interruptStatus |= INTERRUPT_CONFIG_CHANGE;
            interrupt.raise();
            waker.wake();
        }
    }

    private boolean broken() {
        return (status & DeviceStatus.DEVICE_NEEDS_RESET) != 0;
    }

    private void reset() {
        if (active) {
            device.reset();
        }
        active = false;
        status = 0;
        features.reset();
        queueSel = 0;
        interruptStatus = 0;
        queues.forEach(Virtqueue::reset);
    }

    private Virtqueue selectedQueue() {
        return queueSel >= 0 && queueSel < queues.size() ? queues.get(queueSel) : null;
    }

    private static long low(long old, int v) {
        return old & 0xffffffff00000000L | Integer.toUnsignedLong(v);
    }

    private static long high(long old, int v) {
        return old & 0xffffffffL | (Integer.toUnsignedLong(v) << 32);
    }

    /** Transport registers, every queue and the device's own state, versioned. */
    public byte[] saveState() {
        return new MmioTransportState(device.deviceId(), status, features.deviceSel, features.driverSel, features.driverFeatures,
                queueSel, interruptStatus, configGeneration, queues.stream().map(Virtqueue::state).toList(),
                device.saveState()).encode();
    }

    /**
     * Restores {@link #saveState()} output after checking every field against this device and guest
     * RAM; on any problem throws {@link DeviceStateException} and changes nothing.
     */
    public void restoreState(byte[] bytes) {
        MmioTransportState s = MmioTransportState.decode(bytes);
        String problem = s.problemFor(device, queues);
        if (problem != null) {
            throw new DeviceStateException(MmioTransportState.WHAT + ": " + problem);
        }
        device.restoreState(s.deviceState()); // validates before changing anything; the device is inactive after it
        active = false;
        status = s.status();
        features.deviceSel = s.deviceFeaturesSel();
        features.driverSel = s.driverFeaturesSel();
        features.driverFeatures = s.driverFeatures();
        queueSel = s.queueSel();
        interruptStatus = s.interruptStatus();
        configGeneration = s.configGeneration();
        for (int i = 0; i < queues.size(); i++) {
            queues.get(i).restore(s.queues().get(i));
        }
        if ((status & DeviceStatus.DRIVER_OK) != 0 && !broken()) {
            activate();
        }
    }
}
