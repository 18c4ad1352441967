package dev.hostd.vmm.device.virtio;

import dev.hostd.vmm.memory.GuestMemory;
import java.util.ArrayList;
import java.util.List;

/**
 * A chain of descriptors popped from a split virtqueue (virtio 1.2 §2.7.5), parsed and checked up
 * front: every buffer lies inside guest RAM, the chain has no loop, is at most the queue size long,
 * uses no indirect descriptors (not offered) and puts all device-readable buffers before the
 * device-writable ones. The read/write helpers treat the readable and the writable parts each as
 * one contiguous byte stream.
 */
public final class DescriptorChain {
    static final int F_NEXT = 1;
    static final int F_WRITE = 2;
    static final int F_INDIRECT = 4;
    static final int DESCRIPTOR_SIZE = 16;

    private final GuestMemory memory;
    private final int headIndex;
    private final List<Descriptor> readable;
    private final List<Descriptor> writable;
    private final long readableLength;
    private final long writableLength;

    private DescriptorChain(GuestMemory memory, int headIndex, List<Descriptor> readable, List<Descriptor> writable) {
        this.memory = memory;
        this.headIndex = headIndex;
        this.readable = List.copyOf(readable);
        this.writable = List.copyOf(writable);
        this.readableLength = readable.stream().mapToLong(d -> Integer.toUnsignedLong(d.length())).sum();
        this.writableLength = writable.stream().mapToLong(d -> Integer.toUnsignedLong(d.length())).sum();
    }

    /** Walks the chain starting at {@code head}; throws {@link VirtqueueException} if it is malformed. */
    static DescriptorChain parse(GuestMemory memory, long descTable, int queueSize, int head) {
        List<Descriptor> readable = new ArrayList<>();
        List<Descriptor> writable = new ArrayList<>();
        boolean[] visited = new boolean[queueSize];
        int index = head;
        for (int count = 1; ; count++) {
            if (index < 0 || index >= queueSize) {
                throw new VirtqueueException("descriptor index " + index + " out of range (queue size " + queueSize + ")");
            }
            if (visited[index]) {
                throw new VirtqueueException("descriptor loop: chain from head " + head + " revisits descriptor " + index);
            }
            if (count > queueSize) {
                throw new VirtqueueException("descriptor chain from head " + head + " is longer than the queue size " + queueSize);
            }
            visited[index] = true;
            long base = descTable + (long) index * DESCRIPTOR_SIZE;
            long address = memory.readU64(base);
            int length = memory.readU32(base + 8);
            int flags = memory.readU16(base + 12);
            int next = memory.readU16(base + 14);
            if ((flags & F_INDIRECT) != 0) {
                throw new VirtqueueException("descriptor " + index + " is indirect, which was not negotiated");
            }
            long len = Integer.toUnsignedLong(length);
            if (address < 0 || len > memory.size() || address > memory.size() - len) {
                throw new VirtqueueException(String.format("descriptor %d buffer [%#x, +%#x) is outside guest RAM (%#x bytes)",
                        index, address, len, memory.size()));
            }
            if ((flags & F_WRITE) != 0) {
                writable.add(new Descriptor(index, address, length, true));
            } else if (!writable.isEmpty()) {
                throw new VirtqueueException("descriptor " + index + " is device-readable but follows a device-writable one");
            } else {
                readable.add(new Descriptor(index, address, length, false));
            }
            if ((flags & F_NEXT) == 0) {
                return new DescriptorChain(memory, head, readable, writable);
            }
            index = next;
        }
    }

    /** The index of the first descriptor: what goes into the used ring. */
    public int headIndex() {
        return headIndex;
    }

    public List<Descriptor> readable() {
        return readable;
    }

    public List<Descriptor> writable() {
        return writable;
    }

    public long readableLength() {
        return readableLength;
    }

    public long writableLength() {
        return writableLength;
    }

    /**
     * Copies up to {@code length} bytes of the readable part, starting {@code offset} bytes into it,
     * into {@code dst}. Returns the number of bytes copied (less if the readable part ends first).
     */
    public int read(long offset, byte[] dst, int dstOffset, int length) {
        return copy(readable, offset, dst, dstOffset, length, false);
    }

    /** Reads exactly {@code length} bytes at {@code offset} of the readable part, or throws {@link VirtqueueException}. */
    public byte[] readExactly(long offset, int length) {
        byte[] out = new byte[length];
        int n = read(offset, out, 0, length);
        if (n != length) {
            throw new VirtqueueException("chain " + headIndex + " has " + readableLength + " readable bytes, need "
                    + (offset + length));
        }
        return out;
    }

    /**
     * Copies {@code length} bytes from {@code src} into the writable part, starting {@code offset}
     * bytes into it. Returns the number of bytes written (less if the writable part ends first).
     */
    public int write(long offset, byte[] src, int srcOffset, int length) {
        return copy(writable, offset, src, srcOffset, length, true);
    }

    private int copy(List<Descriptor> part, long offset, byte[] array, int arrayOffset, int length, boolean toGuest) {
        int done = 0;
        long skip = offset;
        for (Descriptor d : part) {
            long dlen = Integer.toUnsignedLong(d.length());
            if (skip >= dlen) {
                skip -= dlen;
                continue;
            }
            int n = (int) Math.min(dlen - skip, length - done);
            if (toGuest) {
                memory.write(d.address() + skip, array, arrayOffset + done, n);
            } else {
                memory.read(d.address() + skip, array, arrayOffset + done, n);
            }
            done += n;
            skip = 0;
            if (done == length) {
                break;
            }
        }
        return done;
    }
}
