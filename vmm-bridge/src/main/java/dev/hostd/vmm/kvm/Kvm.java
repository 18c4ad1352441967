package dev.hostd.vmm.kvm;

import dev.hostd.vmm.VmmException;
import dev.hostd.vmm.internal.linux.Errno;
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

    private final int apiVersion;
    private final int vcpuMmapSize;
    private final byte[] supportedCpuid;
    private final int[] msrIndexList;

    private Kvm(int fd, Path device) {
        super(fd);
        try {
            this.apiVersion = apiVersion(fd, device);
            if (apiVersion != kvm_h.KVM_API_VERSION) {
                throw new VmmException(VmmException.Kind.KVM_UNAVAILABLE, "KVM_GET_API_VERSION",
                        device + " speaks API version " + apiVersion + ", hostd needs " + kvm_h.KVM_API_VERSION);
            }
            for (int cap : new int[] {kvm_h.KVM_CAP_USER_MEMORY, kvm_h.KVM_CAP_EXT_CPUID, kvm_h.KVM_CAP_IMMEDIATE_EXIT}) {
                if (!checkExtension(cap)) {
                    throw new VmmException(VmmException.Kind.KVM_UNAVAILABLE, "KVM_CHECK_EXTENSION",
                            device + " lacks capability " + cap + " that hostd needs");
                }
            }
            this.vcpuMmapSize = Libc.ioctl(fd, kvm_h.KVM_GET_VCPU_MMAP_SIZE, 0L, "KVM_GET_VCPU_MMAP_SIZE");
            this.supportedCpuid = readSupportedCpuid(fd);
            this.msrIndexList = readMsrIndexList(fd);
        } catch (RuntimeException e) {
            close(); // no fd leaks from a device that turned out unusable
            throw e;
        }
    }

    /** Opens {@code /dev/kvm}, with a message that says how to fix it when that is not possible. */
    public static Kvm open() {
        return open(DEVICE);
    }

    /**
     * Opens the KVM device at {@code device} (normally {@link #DEVICE}; configurable for tests and
     * unusual hosts). Every failure is {@link VmmException.Kind#KVM_UNAVAILABLE} with a message
     * that names the path and says how to fix it.
     */
    public static Kvm open(Path device) {
        if (!Files.exists(device)) {
            throw new VmmException(VmmException.Kind.KVM_UNAVAILABLE, "open " + device, DEVICE.equals(device)
                    ? "this host has no /dev/kvm: load a KVM module (kvm_intel, kvm_amd or kvm_pvm) or run hostd on a host with virtualization"
                    : "KVM device " + device + " does not exist: configure the KVM device path (normally /dev/kvm), and on a host without it"
                            + " load a KVM module (kvm_intel, kvm_amd or kvm_pvm) or run hostd on a host with virtualization");
        }
        int fd;
        try {
            fd = Libc.open(device.toString(), Libc.O_RDWR | Libc.O_CLOEXEC, 0);
        } catch (VmmException e) {
            if (e.kind() == VmmException.Kind.KVM_UNAVAILABLE) {
                throw e;
            }
            throw new VmmException(VmmException.Kind.KVM_UNAVAILABLE, "open " + device,
                    e.getMessage() + ": cannot use " + device + " as the KVM device (normally /dev/kvm)", e);
        }
        return new Kvm(fd, device);
    }

    /** KVM_GET_API_VERSION; a file that is not a KVM device answers ENOTTY (or EINVAL), which says just that. */
    private static int apiVersion(int fd, Path device) {
        int result = Libc.ioctlRaw(fd, kvm_h.KVM_GET_API_VERSION, 0L);
        if (result == -Errno.ENOTTY || result == -Errno.EINVAL) {
            throw new VmmException(VmmException.Kind.KVM_UNAVAILABLE, "KVM_GET_API_VERSION", device
                    + " is not a KVM device (KVM_GET_API_VERSION failed: " + Errno.name(-result)
                    + "): point hostd at /dev/kvm, the character device of the kvm module");
        }
        if (result < 0) {
            throw VmmException.fromErrno("KVM_GET_API_VERSION on " + device, -result);
        }
        return result;
    }

    /** The device's KVM_GET_API_VERSION, as read at open (the only version hostd accepts is 12). */
    public int apiVersion() {
        return apiVersion;
    }

    public boolean checkExtension(int capability) {
        return Libc.ioctl(fd(), kvm_h.KVM_CHECK_EXTENSION, capability, "KVM_CHECK_EXTENSION") > 0;
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
