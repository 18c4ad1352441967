package dev.hostd.vmm.loader.linux;

import dev.hostd.vmm.internal.linux.kvm_cpuid_entry2;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The CPUID a Linux guest gets: what KVM supports, minus features KVM's instruction emulator
 * cannot run. On PVM hosts every CPL0 instruction goes through that emulator (host-facts.md), and
 * a stock kernel died on {@code lock cmpxchg16b}; without CX16 it uses other paths.
 */
public final class LinuxCpuid {
    /** CPUID.1:ECX bit 13. */
    public static final int ECX_CX16 = 1 << 13;

    private LinuxCpuid() {}

    /** A copy of {@code supported} (an array of struct kvm_cpuid_entry2) with CX16 cleared. */
    public static byte[] forGuest(byte[] supported) {
        byte[] entries = supported.clone();
        ByteBuffer b = ByteBuffer.wrap(entries).order(ByteOrder.nativeOrder()); // a heap byte[] has no int alignment for the FFM accessors
        int size = (int) kvm_cpuid_entry2.sizeof();
        int function = (int) kvm_cpuid_entry2.FUNCTION_OFFSET, ecx = (int) kvm_cpuid_entry2.ECX_OFFSET;
        for (int at = 0; at + size <= entries.length; at += size) {
            if (b.getInt(at + function) == 1) {
                b.putInt(at + ecx, b.getInt(at + ecx) & ~ECX_CX16);
            }
        }
        return entries;
    }
}
