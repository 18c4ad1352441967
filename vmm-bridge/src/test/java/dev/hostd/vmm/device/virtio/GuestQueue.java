package dev.hostd.vmm.device.virtio;

import dev.hostd.vmm.memory.GuestMemory;
import java.lang.invoke.VarHandle;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** The driver side of one split virtqueue, as a polled guest driver keeps it (test code). */
public final class GuestQueue {
    public record Buf(long address, int length, boolean writable) {}

    public record Used(int head, int length) {}

    public final int index;
    public final int size;
    public final long desc;
    public final long avail;
    public final long used;
    private final GuestMemory memory;
    private final ArrayDeque<Integer> free = new ArrayDeque<>();
    private final Map<Integer, List<Integer>> chains = new HashMap<>();
    private int availIdx;
    private int lastUsed;

    GuestQueue(GuestMemory memory, int index, int size, long desc, long avail, long used) {
        this.memory = memory;
        this.index = index;
        this.size = size;
        this.desc = desc;
        this.avail = avail;
        this.used = used;
        for (int i = 0; i < size; i++) {
            free.add(i);
        }
    }

    public int freeDescriptors() {
        return free.size();
    }

    /** Writes a chain into free descriptors and makes it available; returns its head. */
    public int add(List<Buf> bufs) {
        if (bufs.size() > free.size()) {
            throw new IllegalStateException("queue " + index + " full");
        }
        List<Integer> ids = new ArrayList<>();
        for (int i = 0; i < bufs.size(); i++) {
            ids.add(free.poll());
        }
        for (int i = 0; i < bufs.size(); i++) {
            Buf b = bufs.get(i);
            int flags = (b.writable() ? 2 : 0) | (i + 1 < bufs.size() ? 1 : 0);
            writeDescriptor(ids.get(i), b.address(), b.length(), flags, i + 1 < bufs.size() ? ids.get(i + 1) : 0);
        }
        chains.put(ids.getFirst(), ids);
        publish(ids.getFirst());
        return ids.getFirst();
    }

    /** Raw descriptor write, for building malformed chains. */
    public void writeDescriptor(int i, long address, int length, int flags, int next) {
        long d = desc + 16L * i;
        memory.writeU64(d, address);
        memory.writeU32(d + 8, length);
        memory.writeU16(d + 12, flags);
        memory.writeU16(d + 14, next);
    }

    /** Puts {@code head} in the available ring and bumps the index. */
    public void publish(int head) {
        memory.writeU16(avail + 4 + 2L * (availIdx % size), head);
        availIdx = (availIdx + 1) & 0xffff;
        VarHandle.releaseFence();
        memory.writeU16(avail + 2, availIdx);
    }

    /** Sets the available index directly (to fake a bad jump). */
    public void setAvailIdx(int idx) {
        availIdx = idx & 0xffff;
        memory.writeU16(avail + 2, availIdx);
    }

    public void setAvailFlags(int flags) {
        memory.writeU16(avail, flags);
    }

    public int usedIdx() {
        return memory.readU16(used + 2);
    }

    /** Takes every new used element and frees its descriptors. */
    public List<Used> pollUsed() {
        List<Used> out = new ArrayList<>();
        int idx = usedIdx();
        while (lastUsed != idx) {
            long e = used + 4 + 8L * (lastUsed % size);
            Used u = new Used(memory.readU32(e), memory.readU32(e + 4));
            out.add(u);
            List<Integer> ids = chains.remove(u.head());
            if (ids == null) {
                throw new AssertionError("device returned head " + u.head() + " that is not outstanding");
            }
            free.addAll(ids);
            lastUsed = (lastUsed + 1) & 0xffff;
        }
        return out;
    }
}
