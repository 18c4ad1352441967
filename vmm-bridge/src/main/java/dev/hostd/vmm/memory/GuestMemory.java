package dev.hostd.vmm.memory;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A VM's guest-physical RAM as seen from the VMM: one contiguous range starting at guest-physical
 * address 0, backed by a mapping that the owner of the VM created and will unmap.
 *
 * <p>Every access is bounds-checked; guest-supplied addresses that fall outside RAM throw
 * {@link GuestMemoryException}, so a misbehaving guest can never make a device touch host memory.
 */
public final class GuestMemory {
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED;

    private final MemorySegment ram;

    public GuestMemory(MemorySegment ram) {
        this.ram = ram;
    }

    public long size() {
        return ram.byteSize();
    }

    /** The whole of RAM; for loaders and snapshot code, not for devices. */
    public MemorySegment segment() {
        return ram;
    }

    /** A view of {@code [gpa, gpa + length)}, refused if any byte of it lies outside RAM. */
    public MemorySegment slice(long gpa, long length) {
        check(gpa, length);
        return ram.asSlice(gpa, length);
    }

    public byte readU8(long gpa) {
        check(gpa, 1);
        return ram.get(ValueLayout.JAVA_BYTE, gpa);
    }

    public int readU16(long gpa) {
        check(gpa, 2);
        return Short.toUnsignedInt(ram.get(U16, gpa));
    }

    public int readU32(long gpa) {
        check(gpa, 4);
        return ram.get(U32, gpa);
    }

    public long readU64(long gpa) {
        check(gpa, 8);
        return ram.get(U64, gpa);
    }

    public void writeU8(long gpa, byte value) {
        check(gpa, 1);
        ram.set(ValueLayout.JAVA_BYTE, gpa, value);
    }

    public void writeU16(long gpa, int value) {
        check(gpa, 2);
        ram.set(U16, gpa, (short) value);
    }

    public void writeU32(long gpa, int value) {
        check(gpa, 4);
        ram.set(U32, gpa, value);
    }

    public void writeU64(long gpa, long value) {
        check(gpa, 8);
        ram.set(U64, gpa, value);
    }

    /** Copies guest memory into a heap array. */
    public void read(long gpa, byte[] dst, int offset, int length) {
        MemorySegment.copy(slice(gpa, length), ValueLayout.JAVA_BYTE, 0, dst, offset, length);
    }

    /** Copies a heap array into guest memory. */
    public void write(long gpa, byte[] src, int offset, int length) {
        MemorySegment.copy(src, offset, slice(gpa, length), ValueLayout.JAVA_BYTE, 0, length);
    }

    private void check(long gpa, long length) {
        if (gpa < 0 || length < 0 || gpa > ram.byteSize() - length) {
            throw new GuestMemoryException(gpa, length, ram.byteSize());
        }
    }
}
