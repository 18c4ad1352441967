package dev.hostd.vmm.snapshot;

/**
 * Sizes of the {@code <linux/kvm.h>} structs (x86-64) that a snapshot keeps as their exact bytes.
 *
 * <p>The snapshot never interprets these structs; it only checks that each one has the size of the
 * stable kernel ABI, so that a restore hands the kernel exactly what it once handed us. A test in
 * the bindings compares these numbers with a C program compiled against the system header.
 */
public final class KvmAbi {
    /** {@code struct kvm_clock_data}. */
    public static final int KVM_CLOCK_DATA_SIZE = 48;
    /** {@code struct kvm_irqchip}: one PIC or the IOAPIC. */
    public static final int KVM_IRQCHIP_SIZE = 520;
    /** {@code struct kvm_pit_state2}. */
    public static final int KVM_PIT_STATE2_SIZE = 112;
    /** {@code struct kvm_cpuid_entry2}: one entry of {@code KVM_GET_CPUID2}. */
    public static final int KVM_CPUID_ENTRY2_SIZE = 40;
    /** Most entries {@code KVM_SET_CPUID2} accepts ({@code KVM_MAX_CPUID_ENTRIES}). */
    public static final int KVM_MAX_CPUID_ENTRIES = 256;
    /** {@code struct kvm_regs}. */
    public static final int KVM_REGS_SIZE = 144;
    /** {@code struct kvm_sregs}. */
    public static final int KVM_SREGS_SIZE = 312;
    /** {@code struct kvm_xsave}: the legacy size; {@code KVM_GET_XSAVE2} may return more. */
    public static final int KVM_XSAVE_SIZE = 4096;
    /** {@code struct kvm_xcrs}. */
    public static final int KVM_XCRS_SIZE = 392;
    /** {@code struct kvm_debugregs}. */
    public static final int KVM_DEBUGREGS_SIZE = 128;
    /** {@code struct kvm_lapic_state}. */
    public static final int KVM_LAPIC_STATE_SIZE = 1024;
    /** {@code struct kvm_vcpu_events}. */
    public static final int KVM_VCPU_EVENTS_SIZE = 64;
    /** {@code struct kvm_msr_entry}: u32 index, u32 reserved, u64 data. */
    public static final int KVM_MSR_ENTRY_SIZE = 16;

    private KvmAbi() {}
}
