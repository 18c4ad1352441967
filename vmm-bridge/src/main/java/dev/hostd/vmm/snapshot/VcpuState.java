package dev.hostd.vmm.snapshot;

import java.util.Arrays;
import java.util.Objects;

/**
 * One vCPU's kernel state, each struct as its exact {@code <linux/kvm.h>} bytes (sizes in
 * {@link KvmAbi}). Arrays are copied in and out.
 *
 * @param index        position of the vCPU, 0..vcpuCount-1
 * @param cpuidEntries n * 40 bytes: the entries of {@code struct kvm_cpuid2}, without its header
 * @param regs         {@code struct kvm_regs} (144)
 * @param sregs        {@code struct kvm_sregs} (312)
 * @param xsave        {@code struct kvm_xsave} (4096) or the larger {@code KVM_GET_XSAVE2} area (a multiple of 4)
 * @param xcrs         {@code struct kvm_xcrs} (392)
 * @param debugregs    {@code struct kvm_debugregs} (128)
 * @param lapic        {@code struct kvm_lapic_state} (1024), or null when the VM has no in-kernel irqchip
 * @param msrIndices   MSR numbers, parallel to {@code msrValues}
 * @param msrValues    MSR values
 * @param vcpuEvents   {@code struct kvm_vcpu_events} (64)
 * @param mpState      {@code struct kvm_mp_state}'s single field
 * @param tscKhz       the vCPU's TSC frequency ({@code KVM_GET_TSC_KHZ})
 */
public record VcpuState(int index, byte[] cpuidEntries, byte[] regs, byte[] sregs, byte[] xsave, byte[] xcrs,
        byte[] debugregs, byte[] lapic, int[] msrIndices, long[] msrValues, byte[] vcpuEvents, int mpState,
        long tscKhz) {

    public VcpuState {
        cpuidEntries = Objects.requireNonNull(cpuidEntries, "cpuidEntries").clone();
        regs = Objects.requireNonNull(regs, "regs").clone();
        sregs = Objects.requireNonNull(sregs, "sregs").clone();
        xsave = Objects.requireNonNull(xsave, "xsave").clone();
        xcrs = Objects.requireNonNull(xcrs, "xcrs").clone();
        debugregs = Objects.requireNonNull(debugregs, "debugregs").clone();
        lapic = VmState.copy(lapic);
        msrIndices = Objects.requireNonNull(msrIndices, "msrIndices").clone();
        msrValues = Objects.requireNonNull(msrValues, "msrValues").clone();
        vcpuEvents = Objects.requireNonNull(vcpuEvents, "vcpuEvents").clone();
    }

    @Override public byte[] cpuidEntries() { return cpuidEntries.clone(); }
    @Override public byte[] regs() { return regs.clone(); }
    @Override public byte[] sregs() { return sregs.clone(); }
    @Override public byte[] xsave() { return xsave.clone(); }
    @Override public byte[] xcrs() { return xcrs.clone(); }
    @Override public byte[] debugregs() { return debugregs.clone(); }
    @Override public byte[] lapic() { return VmState.copy(lapic); }
    @Override public int[] msrIndices() { return msrIndices.clone(); }
    @Override public long[] msrValues() { return msrValues.clone(); }
    @Override public byte[] vcpuEvents() { return vcpuEvents.clone(); }

    @Override
    public boolean equals(Object o) {
        return o instanceof VcpuState v
                && index == v.index && mpState == v.mpState && tscKhz == v.tscKhz
                && Arrays.equals(cpuidEntries, v.cpuidEntries)
                && Arrays.equals(regs, v.regs)
                && Arrays.equals(sregs, v.sregs)
                && Arrays.equals(xsave, v.xsave)
                && Arrays.equals(xcrs, v.xcrs)
                && Arrays.equals(debugregs, v.debugregs)
                && Arrays.equals(lapic, v.lapic)
                && Arrays.equals(msrIndices, v.msrIndices)
                && Arrays.equals(msrValues, v.msrValues)
                && Arrays.equals(vcpuEvents, v.vcpuEvents);
    }

    @Override
    public int hashCode() {
        return Objects.hash(index, mpState, tscKhz, Arrays.hashCode(cpuidEntries), Arrays.hashCode(regs),
                Arrays.hashCode(sregs), Arrays.hashCode(xsave), Arrays.hashCode(xcrs), Arrays.hashCode(debugregs),
                Arrays.hashCode(lapic), Arrays.hashCode(msrIndices), Arrays.hashCode(msrValues),
                Arrays.hashCode(vcpuEvents));
    }

    @Override
    public String toString() {
        return "VcpuState[index=" + index + ", cpuid=" + cpuidEntries.length / KvmAbi.KVM_CPUID_ENTRY2_SIZE
                + " entries, xsave=" + xsave.length + " bytes, lapic=" + VmState.len(lapic) + ", msrs="
                + msrIndices.length + ", mpState=" + mpState + ", tscKhz=" + tscKhz + "]";
    }
}
