package dev.hostd.vmm.internal.linux;

/**
 * Constants of {@code <linux/kvm.h>} in jextract's shape: ioctl request numbers computed with the
 * kernel's {@code _IO/_IOR/_IOW/_IOWR} encoding from the struct sizes of the layouts, exit reasons
 * and capabilities. KvmHeaderTest compares every number with the one the real header gives.
 */
public final class kvm_h {
    private static final int KVMIO = 0xAE;
    private static final int IOC_NONE = 0, IOC_WRITE = 1, IOC_READ = 2;

    private kvm_h() {}

    private static long ioc(int dir, int nr, long size) {
        return ((long) dir << 30) | (size << 16) | ((long) KVMIO << 8) | nr;
    }

    private static long io(int nr) {
        return ioc(IOC_NONE, nr, 0);
    }

    private static long ior(int nr, long size) {
        return ioc(IOC_READ, nr, size);
    }

    private static long iow(int nr, long size) {
        return ioc(IOC_WRITE, nr, size);
    }

    private static long iowr(int nr, long size) {
        return ioc(IOC_READ | IOC_WRITE, nr, size);
    }

    public static final int KVM_API_VERSION = 12;

    // System ioctls (on the /dev/kvm fd)
    public static final long KVM_GET_API_VERSION = io(0x00);
    public static final long KVM_CREATE_VM = io(0x01);
    public static final long KVM_GET_MSR_INDEX_LIST = iowr(0x02, kvm_msr_list.sizeof());
    public static final long KVM_CHECK_EXTENSION = io(0x03);
    public static final long KVM_GET_VCPU_MMAP_SIZE = io(0x04);
    public static final long KVM_GET_SUPPORTED_CPUID = iowr(0x05, kvm_cpuid2.sizeof());

    // VM ioctls
    public static final long KVM_CREATE_VCPU = io(0x41);
    public static final long KVM_SET_USER_MEMORY_REGION = iow(0x46, kvm_userspace_memory_region.sizeof());
    public static final long KVM_SET_TSS_ADDR = io(0x47);
    public static final long KVM_SET_IDENTITY_MAP_ADDR = iow(0x48, 8);
    public static final long KVM_CREATE_IRQCHIP = io(0x60);
    public static final long KVM_GET_IRQCHIP = iowr(0x62, kvm_irqchip.sizeof());
    public static final long KVM_SET_IRQCHIP = ior(0x63, kvm_irqchip.sizeof());
    public static final long KVM_IRQFD = iow(0x76, kvm_irqfd.sizeof());
    public static final long KVM_CREATE_PIT2 = iow(0x77, kvm_pit_config.sizeof());
    public static final long KVM_IOEVENTFD = iow(0x79, kvm_ioeventfd.sizeof());
    public static final long KVM_SET_CLOCK = iow(0x7b, kvm_clock_data.sizeof());
    public static final long KVM_GET_CLOCK = ior(0x7c, kvm_clock_data.sizeof());
    public static final long KVM_GET_PIT2 = ior(0x9f, kvm_pit_state2.sizeof());
    public static final long KVM_SET_PIT2 = iow(0xa0, kvm_pit_state2.sizeof());

    // vCPU ioctls
    public static final long KVM_RUN = io(0x80);
    public static final long KVM_GET_REGS = ior(0x81, kvm_regs.sizeof());
    public static final long KVM_SET_REGS = iow(0x82, kvm_regs.sizeof());
    public static final long KVM_GET_SREGS = ior(0x83, kvm_sregs.sizeof());
    public static final long KVM_SET_SREGS = iow(0x84, kvm_sregs.sizeof());
    public static final long KVM_GET_MSRS = iowr(0x88, kvm_msrs.sizeof());
    public static final long KVM_SET_MSRS = iow(0x89, kvm_msrs.sizeof());
    public static final long KVM_SET_SIGNAL_MASK = iow(0x8b, kvm_signal_mask.sizeof());
    public static final long KVM_GET_LAPIC = ior(0x8e, kvm_lapic_state.sizeof());
    public static final long KVM_SET_LAPIC = iow(0x8f, kvm_lapic_state.sizeof());
    public static final long KVM_SET_CPUID2 = iow(0x90, kvm_cpuid2.sizeof());
    public static final long KVM_GET_MP_STATE = ior(0x98, kvm_mp_state.sizeof());
    public static final long KVM_SET_MP_STATE = iow(0x99, kvm_mp_state.sizeof());
    public static final long KVM_GET_VCPU_EVENTS = ior(0x9f, kvm_vcpu_events.sizeof());
    public static final long KVM_SET_VCPU_EVENTS = iow(0xa0, kvm_vcpu_events.sizeof());
    public static final long KVM_GET_DEBUGREGS = ior(0xa1, kvm_debugregs.sizeof());
    public static final long KVM_SET_DEBUGREGS = iow(0xa2, kvm_debugregs.sizeof());
    public static final long KVM_GET_TSC_KHZ = io(0xa3);
    public static final long KVM_GET_XSAVE = ior(0xa4, kvm_xsave.sizeof());
    public static final long KVM_SET_XSAVE = iow(0xa5, kvm_xsave.sizeof());
    public static final long KVM_GET_XCRS = ior(0xa6, kvm_xcrs.sizeof());
    public static final long KVM_SET_XCRS = iow(0xa7, kvm_xcrs.sizeof());

    // Exit reasons
    public static final int KVM_EXIT_UNKNOWN = 0, KVM_EXIT_EXCEPTION = 1, KVM_EXIT_IO = 2, KVM_EXIT_HLT = 5,
            KVM_EXIT_MMIO = 6, KVM_EXIT_SHUTDOWN = 8, KVM_EXIT_FAIL_ENTRY = 9, KVM_EXIT_INTR = 10,
            KVM_EXIT_INTERNAL_ERROR = 17, KVM_EXIT_SYSTEM_EVENT = 24;
    public static final int KVM_EXIT_IO_IN = 0, KVM_EXIT_IO_OUT = 1;

    // Capabilities
    public static final int KVM_CAP_IRQCHIP = 0, KVM_CAP_USER_MEMORY = 3, KVM_CAP_SET_TSS_ADDR = 4,
            KVM_CAP_EXT_CPUID = 7, KVM_CAP_NR_MEMSLOTS = 10, KVM_CAP_PIT2 = 33, KVM_CAP_XSAVE = 55,
            KVM_CAP_XCRS = 56, KVM_CAP_IMMEDIATE_EXIT = 136, KVM_CAP_IRQFD = 32, KVM_CAP_IOEVENTFD = 36;
    public static final int KVM_IRQFD_FLAG_DEASSIGN = 1;
    public static final int KVM_IOEVENTFD_FLAG_DATAMATCH = 1, KVM_IOEVENTFD_FLAG_PIO = 2, KVM_IOEVENTFD_FLAG_DEASSIGN = 4;

    // Memory-slot flags and misc
    public static final int KVM_MP_STATE_RUNNABLE = 0;
    public static final int KVM_IRQCHIP_PIC_MASTER = 0, KVM_IRQCHIP_PIC_SLAVE = 1, KVM_IRQCHIP_IOAPIC = 2;
    public static final int KVM_PIT_SPEAKER_DUMMY = 1;
}
