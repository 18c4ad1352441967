package dev.hostd.vmm.machine;

import dev.hostd.vmm.VmmException;
import dev.hostd.vmm.kvm.VcpuFd;
import dev.hostd.vmm.snapshot.VcpuState;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Reads a paused vCPU's full state as kernel-struct bytes, and writes it back in KVM's order. */
final class VcpuStates {
    private VcpuStates() {}

    static VcpuState capture(VcpuFd vcpu, byte[] cpuid, int[] msrIndices, boolean lapic) {
        try (Arena arena = Arena.ofConfined()) {
            return new VcpuState(vcpu.index(), cpuid,
                    bytes(vcpu.getRegs(arena)), bytes(vcpu.getSregs(arena)), bytes(vcpu.getXsave(arena)),
                    bytes(vcpu.getXcrs(arena)), bytes(vcpu.getDebugregs(arena)),
                    lapic ? bytes(vcpu.getLapic(arena)) : null,
                    msrIndices, vcpu.getMsrs(msrIndices), bytes(vcpu.getVcpuEvents(arena)),
                    vcpu.getMpState(), vcpu.tscKhz());
        }
    }

    /**
     * CPUID first (it decides which MSRs and xsave features are valid), then MSRs, registers,
     * FPU/extended state, LAPIC, MP state and pending events last, as Firecracker restores them.
     */
    static void restore(VcpuFd vcpu, VcpuState state) {
        vcpu.setCpuid(state.cpuidEntries());
        restoreMsrs(vcpu, state.msrIndices(), state.msrValues());
        try (Arena arena = Arena.ofConfined()) {
            vcpu.setSregs(segment(arena, state.sregs()));
            vcpu.setRegs(segment(arena, state.regs()));
            vcpu.setXsave(segment(arena, state.xsave()));
            vcpu.setXcrs(segment(arena, state.xcrs()));
            vcpu.setDebugregs(segment(arena, state.debugregs()));
            byte[] lapic = state.lapic();
            if (lapic != null) {
                vcpu.setLapic(segment(arena, lapic));
            }
            vcpu.setMpState(state.mpState());
            vcpu.setVcpuEvents(segment(arena, state.vcpuEvents()));
        }
    }

    /**
     * KVM lists MSRs it will not take back in every configuration (e.g. the async-PF interrupt
     * MSR needs an in-kernel LAPIC). One the kernel refuses is skipped only if the fresh vCPU
     * already holds the saved value; anything else is an error naming the MSR.
     */
    static void restoreMsrs(VcpuFd vcpu, int[] indices, long[] values) {
        int from = 0;
        while (from < indices.length) {
            int refused = from + vcpu.setMsrs(indices, values, from);
            if (refused >= indices.length) {
                return;
            }
            long current = vcpu.getMsrs(new int[] {indices[refused]})[0];
            if (current != values[refused]) {
                throw new VmmException(VmmException.Kind.INVALID_INPUT, "KVM_SET_MSRS", String.format(
                        "the kernel refused MSR %#x = %#x from the snapshot (the new vCPU holds %#x)", indices[refused], values[refused], current));
            }
            from = refused + 1;
        }
    }

    private static byte[] bytes(MemorySegment segment) {
        return segment.toArray(ValueLayout.JAVA_BYTE);
    }

    private static MemorySegment segment(Arena arena, byte[] bytes) {
        MemorySegment segment = arena.allocate(bytes.length, 8);
        MemorySegment.copy(bytes, 0, segment, ValueLayout.JAVA_BYTE, 0, bytes.length);
        return segment;
    }
}
