package dev.hostd.daemon;

import dev.hostd.template.LinuxTemplateSpec;
import dev.hostd.vmm.loader.linux.GuestKernelCache;
import io.micronaut.context.annotation.Value;
import jakarta.inject.Singleton;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Turns a {@code POST /v1/templates} request with {@code "guest": "linux"} into a
 * {@link LinuxTemplateSpec}: the kernel and initramfs it names (files under the image directory,
 * like any guest image) or the daemon's defaults, RAM and vCPUs. Members that belong to the other
 * guest kind are refused, not ignored. The engine then builds it (docs/design.md, "Linux templates").
 */
@Singleton
public final class LinuxTemplates {
    public static final String DEFAULT_KERNEL_KEY = "hostd.linux.default-kernel", DEFAULT_INITRAMFS_KEY = "hostd.linux.default-initramfs";
    /** The initramfs the project's build makes (guest module), as the Linux tests name it. */
    static final String INITRAMFS_ENV = "HOSTD_GUEST_INITRAMFS";

    private final Path imageDir;
    private final String defaultKernel;
    private final String defaultInitramfs;

    public LinuxTemplates(HostdConfig config, @Value("${" + DEFAULT_KERNEL_KEY + ":}") String defaultKernel,
                          @Value("${" + DEFAULT_INITRAMFS_KEY + ":}") String defaultInitramfs) {
        this.imageDir = config.imageDir();
        this.defaultKernel = defaultKernel;
        this.defaultInitramfs = defaultInitramfs;
    }

    /** The spec of a Linux template request; INVALID_INPUT naming the member for anything wrong. */
    LinuxTemplateSpec spec(Dto.TemplateRequest r) {
        if (r.image() != null) {
            throw invalid("image is the test guest's; a Linux template names \"kernel\" and \"initramfs\" (or takes the defaults)");
        }
        if (Boolean.TRUE.equals(r.network())) {
            throw invalid("network: Linux templates have no network device yet (their snapshots hold the vsock only)");
        }
        Path kernel = r.kernel() != null ? GuestImages.fileUnder("kernel", r.kernel(), imageDir) : defaultKernel();
        Path initramfs = r.initramfs() != null ? GuestImages.fileUnder("initramfs", r.initramfs(), imageDir) : defaultInitramfs();
        int memoryMiB = r.memoryMiB() != null ? r.memoryMiB() : LinuxTemplateSpec.DEFAULT_MEMORY_MIB;
        int vcpus = r.vcpus() != null ? r.vcpus() : LinuxTemplateSpec.DEFAULT_VCPUS;
        return new LinuxTemplateSpec(r.id(), kernel, initramfs, memoryMiB, vcpus);
    }

    /** A test-guest request must not carry the Linux members. */
    static void requireNoLinuxMembers(Dto.TemplateRequest r) {
        for (var member : new Object[][] {{"kernel", r.kernel()}, {"initramfs", r.initramfs()}, {"vcpus", r.vcpus()}}) {
            if (member[1] != null) {
                throw invalid(member[0] + " is for Linux templates: give \"guest\": \"linux\" with it (the test guest has one vCPU and no kernel)");
            }
        }
    }

    /** hostd.linux.default-kernel, else the newest kernel scripts/fetch-guest-kernel left in the kernel cache. */
    private Path defaultKernel() {
        if (!defaultKernel.isBlank()) {
            return Path.of(defaultKernel);
        }
        Path cache = GuestKernelCache.directory();
        Optional<Path> cached = GuestKernelCache.vmlinuz(cache);
        return cached.orElseThrow(() -> invalid("kernel is required: " + DEFAULT_KERNEL_KEY + " is empty and there is no boot/vmlinuz-* under "
                + cache + " (" + GuestKernelCache.HOW_TO_FETCH + ")"));
    }

    /** hostd.linux.default-initramfs, else $HOSTD_GUEST_INITRAMFS (what the tests and scripts name). */
    private Path defaultInitramfs() {
        if (!defaultInitramfs.isBlank()) {
            return Path.of(defaultInitramfs);
        }
        String env = System.getenv(INITRAMFS_ENV);
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        throw invalid("initramfs is required: " + DEFAULT_INITRAMFS_KEY + " is empty and $" + INITRAMFS_ENV + " is unset"
                + " (the guest module's build makes guest/target/linux-guest/initramfs.cpio)");
    }

    private static ApiException invalid(String message) {
        return new ApiException(ProblemCode.INVALID_INPUT, message);
    }
}
