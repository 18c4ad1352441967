package dev.hostd.vmm.loader.linux;

import dev.hostd.vmm.internal.linux.kvm_cpuid_entry2;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The CPUID a Linux guest's vCPU gets: what KVM supports, minus features KVM's instruction emulator
 * cannot run, with the vCPU's own APIC ID. On PVM hosts every CPL0 instruction goes through that
 * emulator (host-facts.md), and a stock kernel died on {@code lock cmpxchg16b}; without CX16 it
 * uses other paths. The APIC ID must match the vCPU's local APIC (KVM sets it to the vCPU id) and
 * the MADT, or the kernel's CPU bring-up waits for an AP under the wrong ID.
 */
public final class LinuxCpuid {
    /** CPUID.1:ECX bit 13. */
    public static final int ECX_CX16 = 1 << 13;
    /** CPUID.1:EBX bits 31-24: the initial APIC ID. */
    public static final int EBX_APIC_ID_SHIFT = 24;
    /** The extended topology leaves, whose EDX is the x2APIC ID on every subleaf. */
    public static final int LEAF_TOPOLOGY = 0xB, LEAF_TOPOLOGY_V2 = 0x1F;

    private LinuxCpuid() {}

    /**
     * A copy of {@code supported} (an array of struct kvm_cpuid_entry2) with CX16 cleared and
     * {@code apicId} in leaf 1's EBX[31:24] and in EDX of leaves 0xB and 0x1F.
     */
    public static byte[] forGuest(byte[] supported, int apicId) {
        if (apicId < 0 || apicId > 0xFF) {
            throw new IllegalArgumentException("APIC ID " + apicId + " does not fit CPUID.1:EBX[31:24]");
        }
        byte[] entries = supported.clone();
        ByteBuffer b = ByteBuffer.wrap(entries).order(ByteOrder.nativeOrder()); // a heap byte[] has no int alignment for the FFM accessors
        int size = (int) kvm_cpuid_entry2.sizeof();
        int function = (int) kvm_cpuid_entry2.FUNCTION_OFFSET, ebx = (int) kvm_cpuid_entry2.EBX_OFFSET,
                ecx = (int) kvm_cpuid_entry2.ECX_OFFSET, edx = (int) kvm_cpuid_entry2.EDX_OFFSET;
        for (int at = 0; at + size <= entries.length; at += size) {
            int leaf = b.getInt(at + function);
            if (leaf == 1) {
                b.putInt(at + ecx, b.getInt(at + ecx) & ~ECX_CX16);
                b.putInt(at + ebx, (b.getInt(at + ebx) & 0x00FF_FFFF) | (apicId << EBX_APIC_ID_SHIFT));
            } else if (leaf == LEAF_TOPOLOGY || leaf == LEAF_TOPOLOGY_V2) {
                b.putInt(at + edx, apicId);
            }
        }
        return entries;
    }
}
