package dev.hostd.vmm.device.virtio;

import dev.hostd.vmm.memory.GuestMemory;
import java.lang.invoke.VarHandle;

/**
 * A split virtqueue (virtio 1.2 §2.7) over guest memory: its configuration as the driver wrote it
 * through the transport, and the device side of the rings: pop available chains, add used ones.
 * Touched only on the vCPU thread. Ring indices are free-running 16-bit counters.
 */
public final class Virtqueue {
    /** VIRTQ_AVAIL_F_NO_INTERRUPT: the driver does not want used-buffer interrupts (it polls). */
    public static final int AVAIL_F_NO_INTERRUPT = 1;
    public static final int USED_F_NO_NOTIFY = 1;

    private final GuestMemory memory;
    private final int maxSize;
    private int size;
    private boolean ready;
    private long descTable;
    private long availRing;
    private long usedRing;
    private int nextAvail;
    private int nextUsed;
    private boolean usedAdded;

    public Virtqueue(GuestMemory memory, int maxSize) {
        if (maxSize < 1 || maxSize > 32768 || Integer.bitCount(maxSize) != 1) {
            throw new IllegalArgumentException("queue max size must be a power of two in [1, 32768]: " + maxSize);
        }
        this.memory = memory;
        this.maxSize = maxSize;
        reset();
    }

    /** Back to the state after a device reset: not ready, size = max, no addresses. */
    void reset() {
        size = maxSize;
        ready = false;
        descTable = availRing = usedRing = 0;
        nextAvail = nextUsed = 0;
        usedAdded = false;
    }

    public int maxSize() { return maxSize; }
    public int size() { return size; }
    public boolean ready() { return ready; }
    public int nextAvail() { return nextAvail; }
    public int nextUsed() { return nextUsed; }

    void setSize(int size) { this.size = size; }
    void setDescTable(long address) { this.descTable = address; }
    void setAvailRing(long address) { this.availRing = address; }
    void setUsedRing(long address) { this.usedRing = address; }
    long descTable() { return descTable; }
    long availRing() { return availRing; }
    long usedRing() { return usedRing; }

    /** Marks the queue ready after checking its configuration; returns why not, or null. */
    String makeReady() {
        String problem = validate(size, descTable, availRing, usedRing);
        if (problem == null) {
            ready = true;
        }
        return problem;
    }

    void setNotReady() { ready = false; }

    /** Checks a configuration against virtio 1.2 §2.7 and guest RAM; returns the problem or null. */
    String validate(int size, long desc, long avail, long used) {
        if (size < 1 || size > maxSize || Integer.bitCount(size) != 1) {
            return "queue size " + size + " is not a power of two in [1, " + maxSize + "]";
        }
        String problem = area("descriptor table", desc, 16L * size, 16);
        if (problem == null) problem = area("available ring", avail, 6L + 2L * size, 2);
        if (problem == null) problem = area("used ring", used, 6L + 8L * size, 4);
        return problem;
    }

    private String area(String name, long address, long length, int alignment) {
        if (address % alignment != 0) {
            return String.format("%s address %#x is not %d-byte aligned", name, address, alignment);
        }
        if (address < 0 || address > memory.size() - length) {
            return String.format("%s [%#x, +%#x) is outside guest RAM (%#x bytes)", name, address, length, memory.size());
        }
        return null;
    }

    /** How many chains the driver has made available that the device has not popped. */
    public int pending() {
        requireReady();
        int availIdx = memory.readU16(availRing + 2);
        VarHandle.acquireFence();
        int pending = (availIdx - nextAvail) & 0xffff;
        if (pending > size) {
            throw new VirtqueueException("available index jumped from " + nextAvail + " to " + availIdx
                    + ", more than the queue size " + size);
        }
        return pending;
    }

    public boolean hasAvailable() {
        return pending() > 0;
    }

    /** The next available chain, or null if the driver has made none available. */
    public DescriptorChain pop() {
        if (pending() == 0) {
            return null;
        }
        int head = memory.readU16(availRing + 4 + 2L * (nextAvail & (size - 1)));
        DescriptorChain chain = DescriptorChain.parse(memory, descTable, size, head);
        nextAvail = (nextAvail + 1) & 0xffff;
        return chain;
    }

    /** Gives back the chain popped last, so the next {@link #pop()} returns it again. */
    public void undoPop() {
        nextAvail = (nextAvail - 1) & 0xffff;
    }

    /** Returns a chain to the driver, with the number of bytes the device wrote into it. */
    public void addUsed(int headIndex, int writtenLength) {
        requireReady();
        if (headIndex < 0 || headIndex >= size) {
            throw new IllegalArgumentException("head index " + headIndex + " out of range " + size);
        }
        long element = usedRing + 4 + 8L * (nextUsed & (size - 1));
        memory.writeU32(element, headIndex);
        memory.writeU32(element + 4, writtenLength);
        nextUsed = (nextUsed + 1) & 0xffff;
        VarHandle.releaseFence();
        memory.writeU16(usedRing + 2, nextUsed);
        usedAdded = true;
    }

    /**
     * Tells the driver not to notify when it adds buffers (VIRTQ_USED_F_NO_NOTIFY): for queues the
     * device looks at whenever it has something to put in them, a notification is a wasted exit.
     * Advisory for the driver; the device never depends on it.
     */
    public void suppressNotifications() {
        requireReady();
        memory.writeU16(usedRing, USED_F_NO_NOTIFY);
    }

    /** Whether the driver asked not to be interrupted for this queue (it polls). Never used for correctness. */
    public boolean interruptSuppressed() {
        return (memory.readU16(availRing) & AVAIL_F_NO_INTERRUPT) != 0;
    }

    /** True if used buffers were added since the last call; clears the flag. */
    boolean takeUsedAdded() {
        boolean added = usedAdded;
        usedAdded = false;
        return added;
    }

    QueueState state() {
        return new QueueState(maxSize, size, ready, descTable, availRing, usedRing, nextAvail, nextUsed);
    }

    /** Applies a state already validated by {@link #validateState}. */
    void restore(QueueState state) {
        size = state.size();
        ready = state.ready();
        descTable = state.descTable();
        availRing = state.availRing();
        usedRing = state.usedRing();
        nextAvail = state.nextAvail();
        nextUsed = state.nextUsed();
        usedAdded = false;
    }

    /** Returns what is wrong with {@code state} for this queue, or null. */
    String validateState(QueueState state) {
        if (state.maxSize() != maxSize) {
            return "max size " + state.maxSize() + " does not match the device's " + maxSize;
        }
        if (state.nextAvail() < 0 || state.nextAvail() > 0xffff || state.nextUsed() < 0 || state.nextUsed() > 0xffff) {
            return "ring index out of 16-bit range";
        }
        if (state.ready()) {
            return validate(state.size(), state.descTable(), state.availRing(), state.usedRing());
        }
        if (state.size() < 1 || state.size() > maxSize) {
            return "queue size " + state.size() + " is out of range [1, " + maxSize + "]";
        }
        return null;
    }

    private void requireReady() {
        if (!ready) {
            throw new VirtqueueException("queue is not ready");
        }
    }
}
