package dev.hostd.vmm.machine;

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
        vcpu.setMsrs(state.msrIndices(), state.msrValues());
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

    private static byte[] bytes(MemorySegment segment) {
        return segment.toArray(ValueLayout.JAVA_BYTE);
    }

    private static MemorySegment segment(Arena arena, byte[] bytes) {
        MemorySegment segment = arena.allocate(bytes.length, 8);
        MemorySegment.copy(bytes, 0, segment, ValueLayout.JAVA_BYTE, 0, bytes.length);
        return segment;
    }
}
