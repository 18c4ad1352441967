package dev.hostd.vmm.machine;

import dev.hostd.vmm.kvm.VcpuFd;
import dev.hostd.vmm.snapshot.VcpuState;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Reads a paused vCPU's full state as kernel-struct bytes; {@link RestoreImage} writes it back. */
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

    private static byte[] bytes(MemorySegment segment) {
        return segment.toArray(ValueLayout.JAVA_BYTE);
    }

}
