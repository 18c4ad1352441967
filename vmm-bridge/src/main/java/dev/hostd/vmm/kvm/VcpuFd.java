package dev.hostd.vmm.kvm;

import dev.hostd.vmm.VmmException;
import dev.hostd.vmm.internal.linux.Libc;
import dev.hostd.vmm.internal.linux.kvm_cpuid2;
import dev.hostd.vmm.internal.linux.kvm_cpuid_entry2;
import dev.hostd.vmm.internal.linux.kvm_debugregs;
import dev.hostd.vmm.internal.linux.kvm_h;
import dev.hostd.vmm.internal.linux.kvm_lapic_state;
import dev.hostd.vmm.internal.linux.kvm_mp_state;
import dev.hostd.vmm.internal.linux.kvm_msr_entry;
import dev.hostd.vmm.internal.linux.kvm_msrs;
import dev.hostd.vmm.internal.linux.kvm_regs;
import dev.hostd.vmm.internal.linux.kvm_signal_mask;
import dev.hostd.vmm.internal.linux.kvm_sregs;
import dev.hostd.vmm.internal.linux.kvm_vcpu_events;
import dev.hostd.vmm.internal.linux.kvm_xcrs;
import dev.hostd.vmm.internal.linux.kvm_xsave;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A KVM vCPU file descriptor and its shared {@code kvm_run} page. State is read and written as
 * the exact bytes of the kernel structs; the engine decides what to do with them.
 */
public final class VcpuFd extends FileDescriptor {
    private final int index;
    private final MemorySegment run;

    VcpuFd(int fd, int index, int mmapSize) {
        super(fd);
        this.index = index;
        try {
            this.run = Libc.mmap(mmapSize, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, fd, 0, "kvm_run");
        } catch (VmmException e) {
            super.close();
            throw e;
        }
    }

    public int index() {
        return index;
    }

    /** The shared {@code struct kvm_run}; see {@code kvm_run} accessors. Valid until close. */
    public MemorySegment runStruct() {
        return run;
    }

    /** KVM_RUN: 0 on an exit to handle, {@code -errno} on failure (EINTR after a kick). */
    public int run() {
        return Libc.ioctlRaw(fd(), kvm_h.KVM_RUN, 0L);
    }

    public MemorySegment getRegs(Arena arena) {
        return get(arena, kvm_h.KVM_GET_REGS, kvm_regs.sizeof(), "KVM_GET_REGS");
    }

    public void setRegs(MemorySegment regs) {
        Libc.ioctl(fd(), kvm_h.KVM_SET_REGS, regs, "KVM_SET_REGS");
    }

    public MemorySegment getSregs(Arena arena) {
        return get(arena, kvm_h.KVM_GET_SREGS, kvm_sregs.sizeof(), "KVM_GET_SREGS");
    }

    public void setSregs(MemorySegment sregs) {
        Libc.ioctl(fd(), kvm_h.KVM_SET_SREGS, sregs, "KVM_SET_SREGS");
    }

    public MemorySegment getXsave(Arena arena) {
        return get(arena, kvm_h.KVM_GET_XSAVE, kvm_xsave.sizeof(), "KVM_GET_XSAVE");
    }

    public void setXsave(MemorySegment xsave) {
        Libc.ioctl(fd(), kvm_h.KVM_SET_XSAVE, xsave, "KVM_SET_XSAVE");
    }

    public MemorySegment getXcrs(Arena arena) {
        return get(arena, kvm_h.KVM_GET_XCRS, kvm_xcrs.sizeof(), "KVM_GET_XCRS");
    }

    public void setXcrs(MemorySegment xcrs) {
        Libc.ioctl(fd(), kvm_h.KVM_SET_XCRS, xcrs, "KVM_SET_XCRS");
    }

    public MemorySegment getDebugregs(Arena arena) {
        return get(arena, kvm_h.KVM_GET_DEBUGREGS, kvm_debugregs.sizeof(), "KVM_GET_DEBUGREGS");
    }

    public void setDebugregs(MemorySegment debugregs) {
        Libc.ioctl(fd(), kvm_h.KVM_SET_DEBUGREGS, debugregs, "KVM_SET_DEBUGREGS");
    }

    public MemorySegment getLapic(Arena arena) {
        return get(arena, kvm_h.KVM_GET_LAPIC, kvm_lapic_state.sizeof(), "KVM_GET_LAPIC");
    }

    public void setLapic(MemorySegment lapic) {
        Libc.ioctl(fd(), kvm_h.KVM_SET_LAPIC, lapic, "KVM_SET_LAPIC");
    }

    public MemorySegment getVcpuEvents(Arena arena) {
        return get(arena, kvm_h.KVM_GET_VCPU_EVENTS, kvm_vcpu_events.sizeof(), "KVM_GET_VCPU_EVENTS");
    }

    public void setVcpuEvents(MemorySegment events) {
        Libc.ioctl(fd(), kvm_h.KVM_SET_VCPU_EVENTS, events, "KVM_SET_VCPU_EVENTS");
    }

    public int getMpState() {
        try (Arena arena = Arena.ofConfined()) {
            return kvm_mp_state.mp_state(get(arena, kvm_h.KVM_GET_MP_STATE, kvm_mp_state.sizeof(), "KVM_GET_MP_STATE"));
        }
    }

    public void setMpState(int state) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment mp = arena.allocate(kvm_mp_state.LAYOUT);
            kvm_mp_state.mp_state(mp, state);
            Libc.ioctl(fd(), kvm_h.KVM_SET_MP_STATE, mp, "KVM_SET_MP_STATE");
        }
    }

    /** Sets the vCPU's CPUID from an array of {@code struct kvm_cpuid_entry2} bytes. */
    public void setCpuid(byte[] entries) {
        long entrySize = kvm_cpuid_entry2.sizeof();
        if (entries.length % entrySize != 0) {
            throw new VmmException(VmmException.Kind.INVALID_INPUT, "KVM_SET_CPUID2",
                    "CPUID table of " + entries.length + " bytes is not a whole number of " + entrySize + "-byte entries");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cpuid = arena.allocate(kvm_cpuid2.sizeof() + entries.length, 8);
            kvm_cpuid2.nent(cpuid, (int) (entries.length / entrySize));
            MemorySegment.copy(entries, 0, cpuid, ValueLayout.JAVA_BYTE, kvm_cpuid2.sizeof(), entries.length);
            Libc.ioctl(fd(), kvm_h.KVM_SET_CPUID2, cpuid, "KVM_SET_CPUID2");
        }
    }

    /** KVM_SET_CPUID2 from a prepared {@code struct kvm_cpuid2} with its entries. */
    public void setCpuid2(MemorySegment cpuid2) {
        Libc.ioctl(fd(), kvm_h.KVM_SET_CPUID2, cpuid2, "KVM_SET_CPUID2");
    }

    /** KVM_SET_MSRS from a prepared {@code struct kvm_msrs}; returns how many the kernel took. */
    public int setMsrs(MemorySegment msrs) {
        return Libc.ioctl(fd(), kvm_h.KVM_SET_MSRS, msrs, "KVM_SET_MSRS");
    }

    /** Reads the given MSRs; fails naming the first MSR the kernel did not return. */
    public long[] getMsrs(int[] indices) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment msrs = msrBuffer(arena, indices);
            int read = Libc.ioctl(fd(), kvm_h.KVM_GET_MSRS, msrs, "KVM_GET_MSRS");
            if (read != indices.length) {
                throw msrFailure("KVM_GET_MSRS", indices, read);
            }
            long[] values = new long[indices.length];
            for (int i = 0; i < indices.length; i++) {
                values[i] = kvm_msr_entry.data(entry(msrs, i));
            }
            return values;
        }
    }

    /**
     * Writes MSRs {@code from} onwards; returns how many the kernel took. It stops at the first
     * one it refuses, which is then {@code indices[from + result]}.
     */
    public int setMsrs(int[] indices, long[] values, int from) {
        int count = indices.length - from;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment msrs = msrBuffer(arena, java.util.Arrays.copyOfRange(indices, from, indices.length));
            for (int i = 0; i < count; i++) {
                kvm_msr_entry.data(entry(msrs, i), values[from + i]);
            }
            return Libc.ioctl(fd(), kvm_h.KVM_SET_MSRS, msrs, "KVM_SET_MSRS");
        }
    }

    /** The TSC frequency the guest sees, in kHz. */
    public long tscKhz() {
        return Libc.ioctl(fd(), kvm_h.KVM_GET_TSC_KHZ, 0L, "KVM_GET_TSC_KHZ");
    }

    /**
     * The signal mask in force while this vCPU is in KVM_RUN: everything the thread blocks,
     * except {@code kickSignal}, so a kick interrupts the guest and stays pending otherwise.
     */
    public void setRunSignalMaskUnblocking(int kickSignal, MemorySegment threadMask) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment mask = arena.allocate(kvm_signal_mask.sizeof() + 8, 8);
            kvm_signal_mask.len(mask, 8);
            long bits = threadMask.get(ValueLayout.JAVA_LONG, 0) & ~(1L << (kickSignal - 1));
            mask.set(ValueLayout.JAVA_LONG_UNALIGNED, kvm_signal_mask.sizeof(), bits);
            Libc.ioctl(fd(), kvm_h.KVM_SET_SIGNAL_MASK, mask, "KVM_SET_SIGNAL_MASK");
        }
    }

    @Override
    public void close() {
        if (!isClosed()) {
            Libc.munmap(run);
        }
        super.close();
    }

    private MemorySegment get(Arena arena, long request, long size, String operation) {
        MemorySegment buffer = arena.allocate(size, 8);
        Libc.ioctl(fd(), request, buffer, operation);
        return buffer;
    }

    private static MemorySegment msrBuffer(Arena arena, int[] indices) {
        MemorySegment msrs = arena.allocate(kvm_msrs.sizeof() + kvm_msr_entry.sizeof() * indices.length, 8);
        kvm_msrs.nmsrs(msrs, indices.length);
        for (int i = 0; i < indices.length; i++) {
            kvm_msr_entry.index(entry(msrs, i), indices[i]);
        }
        return msrs;
    }

    private static MemorySegment entry(MemorySegment msrs, int i) {
        return msrs.asSlice(kvm_msrs.sizeof() + kvm_msr_entry.sizeof() * i, kvm_msr_entry.sizeof());
    }

    private static VmmException msrFailure(String operation, int[] indices, int done) {
        String msr = done >= 0 && done < indices.length ? String.format("%#x", indices[done]) : "?";
        return new VmmException(VmmException.Kind.INTERNAL, operation,
                operation + " handled " + done + " of " + indices.length + " MSRs; the kernel refused MSR " + msr);
    }
}
