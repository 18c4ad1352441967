package dev.hostd.vmm.machine;

import dev.hostd.vmm.VmmException;
import dev.hostd.vmm.internal.linux.kvm_cpuid2;
import dev.hostd.vmm.internal.linux.kvm_cpuid_entry2;
import dev.hostd.vmm.internal.linux.kvm_msr_entry;
import dev.hostd.vmm.internal.linux.kvm_msrs;
import dev.hostd.vmm.kvm.VcpuFd;
import dev.hostd.vmm.snapshot.VcpuState;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * One saved vCPU made ready for many restores: every kernel struct copied once into native memory
 * in the shape its ioctl takes, so a clone issues the ioctls and copies nothing. Used by
 * {@link RestoreImage} (the test guest's one vCPU) and {@link LinuxSnapshot} (every vCPU of a
 * Linux guest). Immutable except for the MSR list, which learns once which MSRs the kernel will
 * not take back (see {@link #restoreMsrs}).
 */
final class VcpuRestore {
    private final MemorySegment cpuid2, regs, sregs, xsave, xcrs, debugregs, lapic, events;
    private final int mpState;
    private final int[] msrIndices;
    private final long[] msrValues;
    private volatile MemorySegment msrs;
    /** MSR_IA32_TSC_DEADLINE alone, set again after the LAPIC; null if it was not saved. */
    private final MemorySegment tscDeadline;
    static final int MSR_IA32_TSC_DEADLINE = 0x6E0;

    VcpuRestore(VcpuState v) {
        Arena arena = Arena.ofAuto();
        byte[] entries = v.cpuidEntries();
        this.cpuid2 = arena.allocate(kvm_cpuid2.sizeof() + entries.length, 8);
        kvm_cpuid2.nent(cpuid2, (int) (entries.length / kvm_cpuid_entry2.sizeof()));
        MemorySegment.copy(entries, 0, cpuid2, ValueLayout.JAVA_BYTE, kvm_cpuid2.sizeof(), entries.length);
        this.regs = copy(arena, v.regs());
        this.sregs = copy(arena, v.sregs());
        this.xsave = copy(arena, v.xsave());
        this.xcrs = copy(arena, v.xcrs());
        this.debugregs = copy(arena, v.debugregs());
        byte[] lapicBytes = v.lapic();
        this.lapic = lapicBytes == null ? null : copy(arena, lapicBytes);
        this.events = copy(arena, v.vcpuEvents());
        this.mpState = v.mpState();
        this.msrIndices = v.msrIndices();
        this.msrValues = v.msrValues();
        this.msrs = msrBuffer(arena, msrIndices, msrValues);
        int deadline = indexOf(msrIndices, MSR_IA32_TSC_DEADLINE);
        this.tscDeadline = deadline < 0 ? null
                : msrBuffer(arena, new int[] {MSR_IA32_TSC_DEADLINE}, new long[] {msrValues[deadline]});
    }

    private static int indexOf(int[] values, int value) {
        for (int i = 0; i < values.length; i++) {
            if (values[i] == value) {
                return i;
            }
        }
        return -1;
    }

    /**
     * CPUID first (it decides which MSRs and xsave features are valid), then MSRs, registers, FPU,
     * LAPIC, MP state (an AP still waiting for its SIPI stays waiting), events.
     */
    void restore(VcpuFd vcpu) {
        vcpu.setCpuid2(cpuid2);
        restoreMsrs(vcpu);
        vcpu.setSregs(sregs);
        vcpu.setRegs(regs);
        vcpu.setXsave(xsave);
        vcpu.setXcrs(xcrs);
        vcpu.setDebugregs(debugregs);
        if (lapic != null) {
            vcpu.setLapic(lapic);
            if (tscDeadline != null) {
                // KVM ignores the TSC-deadline MSR unless the LAPIC's timer is already in that mode, so
                // the write among the MSRs above was lost for a guest that armed one; QEMU sets it again here too.
                vcpu.setMsrs(tscDeadline);
            }
        }
        vcpu.setMpState(mpState);
        vcpu.setVcpuEvents(events);
    }

    /**
     * KVM lists MSRs it will not take back in every configuration (e.g. the async-PF interrupt
     * MSR needs an in-kernel LAPIC). One the kernel refuses is dropped only if the fresh vCPU
     * already holds the saved value; the list without it is kept for the next clone.
     */
    private void restoreMsrs(VcpuFd vcpu) {
        MemorySegment current = msrs;
        int count = kvm_msrs.nmsrs(current);
        int written = vcpu.setMsrs(current);
        if (written == count) {
            return;
        }
        List<Integer> keep = new ArrayList<>();
        for (int i = 0; i < msrIndices.length; i++) {
            keep.add(i);
        }
        // Replay with the plain path, learning which MSRs to drop.
        int from = 0;
        while (from < msrIndices.length) {
            int refused = from + vcpu.setMsrs(msrIndices, msrValues, from);
            if (refused >= msrIndices.length) {
                break;
            }
            long now = vcpu.getMsrs(new int[] {msrIndices[refused]})[0];
            if (now != msrValues[refused]) {
                throw new VmmException(VmmException.Kind.INVALID_INPUT, "KVM_SET_MSRS", String.format(
                        "the kernel refused MSR %#x = %#x from the snapshot (the new vCPU holds %#x)", msrIndices[refused], msrValues[refused], now));
            }
            keep.remove(Integer.valueOf(refused));
            from = refused + 1;
        }
        int[] idx = keep.stream().mapToInt(i -> msrIndices[i]).toArray();
        long[] val = keep.stream().mapToLong(i -> msrValues[i]).toArray();
        msrs = msrBuffer(Arena.ofAuto(), idx, val);
    }

    private static MemorySegment msrBuffer(Arena arena, int[] indices, long[] values) {
        MemorySegment buffer = arena.allocate(kvm_msrs.sizeof() + kvm_msr_entry.sizeof() * indices.length, 8);
        kvm_msrs.nmsrs(buffer, indices.length);
        for (int i = 0; i < indices.length; i++) {
            MemorySegment e = buffer.asSlice(kvm_msrs.sizeof() + kvm_msr_entry.sizeof() * i, kvm_msr_entry.sizeof());
            kvm_msr_entry.index(e, indices[i]);
            kvm_msr_entry.data(e, values[i]);
        }
        return buffer;
    }

    private static MemorySegment copy(Arena arena, byte[] bytes) {
        MemorySegment segment = arena.allocate(bytes.length, 8);
        MemorySegment.copy(bytes, 0, segment, ValueLayout.JAVA_BYTE, 0, bytes.length);
        return segment;
    }
}
