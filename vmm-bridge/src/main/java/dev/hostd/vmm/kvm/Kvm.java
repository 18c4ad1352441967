package dev.hostd.vmm.kvm;

import dev.hostd.vmm.VmmException;
import dev.hostd.vmm.internal.linux.Libc;
import dev.hostd.vmm.internal.linux.kvm_cpuid2;
import dev.hostd.vmm.internal.linux.kvm_cpuid_entry2;
import dev.hostd.vmm.internal.linux.kvm_h;
import dev.hostd.vmm.internal.linux.kvm_msr_list;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The open {@code /dev/kvm}: system-level queries and VM creation. One per process is enough;
 * it is thread-safe.
 */
public final class Kvm extends FileDescriptor {
    public static final Path DEVICE = Path.of("/dev/kvm");
    private static final int MAX_CPUID_ENTRIES = 256;
    private static final int MAX_MSRS = 1024;

    private final int vcpuMmapSize;
    private final byte[] supportedCpuid;
    private final int[] msrIndexList;

    private Kvm(int fd) {
        super(fd);
        int version = Libc.ioctl(fd, kvm_h.KVM_GET_API_VERSION, 0L, "KVM_GET_API_VERSION");
        if (version != kvm_h.KVM_API_VERSION) {
            close();
            throw new VmmException(VmmException.Kind.KVM_UNAVAILABLE, "KVM_GET_API_VERSION",
                    "/dev/kvm speaks API version " + version + ", hostd needs " + kvm_h.KVM_API_VERSION);
        }
        for (int cap : new int[] {kvm_h.KVM_CAP_USER_MEMORY, kvm_h.KVM_CAP_EXT_CPUID, kvm_h.KVM_CAP_IMMEDIATE_EXIT}) {
            if (!checkExtension(cap)) {
                close();
                throw new VmmException(VmmException.Kind.KVM_UNAVAILABLE, "KVM_CHECK_EXTENSION",
                        "/dev/kvm lacks capability " + cap + " that hostd needs");
            }
        }
        this.vcpuMmapSize = Libc.ioctl(fd, kvm_h.KVM_GET_VCPU_MMAP_SIZE, 0L, "KVM_GET_VCPU_MMAP_SIZE");
        this.supportedCpuid = readSupportedCpuid(fd);
        this.msrIndexList = readMsrIndexList(fd);
    }

    /** Opens {@code /dev/kvm}, with a message that says how to fix it when that is not possible. */
    public static Kvm open() {
        if (!Files.exists(DEVICE)) {
            throw new VmmException(VmmException.Kind.KVM_UNAVAILABLE, "open /dev/kvm",
                    "this host has no /dev/kvm: load a KVM module (kvm_intel, kvm_amd or kvm_pvm) or run hostd on a host with virtualization");
        }
        return new Kvm(Libc.open(DEVICE.toString(), Libc.O_RDWR | Libc.O_CLOEXEC, 0));
    }

    public boolean checkExtension(int capability) {
        return Libc.ioctl(fd(), kvm_h.KVM_CHECK_EXTENSION, capability, "KVM_CHECK_EXTENSION") > 0;
    }

    public int extensionValue(int capability) {
        return Libc.ioctl(fd(), kvm_h.KVM_CHECK_EXTENSION, capability, "KVM_CHECK_EXTENSION");
    }

    public int vcpuMmapSize() {
        return vcpuMmapSize;
    }

    /** The CPUID entries KVM supports, as an array of {@code struct kvm_cpuid_entry2} bytes. */
    public byte[] supportedCpuidEntries() {
        return supportedCpuid.clone();
    }

    /** MSRs that KVM saves and restores ({@code KVM_GET_MSR_INDEX_LIST}). */
    public int[] msrIndexList() {
        return msrIndexList.clone();
    }

    public VmFd createVm() {
        int vmFd = Libc.ioctl(fd(), kvm_h.KVM_CREATE_VM, 0L, "KVM_CREATE_VM");
        return new VmFd(vmFd, this);
    }

    private static byte[] readSupportedCpuid(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            long entrySize = kvm_cpuid_entry2.sizeof();
            MemorySegment buffer = arena.allocate(kvm_cpuid2.sizeof() + entrySize * MAX_CPUID_ENTRIES, 8);
            kvm_cpuid2.nent(buffer, MAX_CPUID_ENTRIES);
            Libc.ioctl(fd, kvm_h.KVM_GET_SUPPORTED_CPUID, buffer, "KVM_GET_SUPPORTED_CPUID");
            int count = kvm_cpuid2.nent(buffer);
            return buffer.asSlice(kvm_cpuid2.sizeof(), entrySize * count).toArray(ValueLayout.JAVA_BYTE);
        }
    }

    private static int[] readMsrIndexList(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(kvm_msr_list.sizeof() + 4L * MAX_MSRS, 8);
            kvm_msr_list.nmsrs(buffer, MAX_MSRS);
            Libc.ioctl(fd, kvm_h.KVM_GET_MSR_INDEX_LIST, buffer, "KVM_GET_MSR_INDEX_LIST");
            int count = kvm_msr_list.nmsrs(buffer);
            return buffer.asSlice(kvm_msr_list.sizeof(), 4L * count).toArray(ValueLayout.JAVA_INT);
        }
    }
}
