package dev.hostd.template;

import dev.hostd.vmm.VmmException;
import dev.hostd.vmm.agent.IdentityReport;
import dev.hostd.vmm.kvm.Kvm;
import dev.hostd.vmm.loader.linux.PvhKernel;
import dev.hostd.vmm.loader.linux.Vmlinux;
import dev.hostd.vmm.machine.LinuxBootConfig;
import dev.hostd.vmm.machine.LinuxVm;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Builds a Linux Basepoint in a directory: boots the kernel with the initramfs and the template
 * identity ({@link LinuxVm}), waits for the agent's HELLO, and snapshots the VM into
 * {@code <dir>/state} and {@code <dir>/memory} with the template's metadata (docs/snapshot-format.md).
 * {@link #prepare} reads and checks the inputs and the host first, so a request that cannot work
 * is refused before a VM exists.
 */
final class LinuxTemplateBuilder {
    /** A larger file is no kernel hostd boots (a distribution's vmlinux is under 100 MB); it would only fill the heap. */
    static final long MAX_KERNEL_BYTES = 128L << 20;
    /** hostd's own initramfs is 3 MB; a function's image comes through nydus-mount, not the initramfs. */
    static final long MAX_INITRAMFS_BYTES = 512L << 20;

    /** The files read and checked, ready to boot. */
    record Inputs(byte[] kernel, boolean vmlinux, byte[] initramfs) {}

    private final Kvm kvm;
    private final Duration readyTimeout;
    /** Why this host cannot run Linux guests, or empty (HardwareVirtualization::missing; a fake in tests). */
    private final Supplier<Optional<String>> hostCheck;

    LinuxTemplateBuilder(Kvm kvm, Duration readyTimeout, Supplier<Optional<String>> hostCheck) {
        this.kvm = kvm;
        this.readyTimeout = readyTimeout;
        this.hostCheck = hostCheck;
    }

    /**
     * Reads the kernel and initramfs and checks the kernel's format (INVALID_INPUT naming the
     * field), then that the host can run a Linux guest at all (UNSUPPORTED_HOST with the reason).
     */
    Inputs prepare(LinuxTemplateSpec spec) {
        byte[] kernel = read("kernel", spec.kernel(), MAX_KERNEL_BYTES);
        // the guest unpacks it into its own RAM: more than half of that leaves the kernel nothing
        byte[] initramfs = read("initramfs", spec.initramfs(), Math.min(MAX_INITRAMFS_BYTES, ((long) spec.memoryMiB() << 20) / 2));
        boolean vmlinux = isElf(kernel);
        try {
            if (vmlinux) {
                PvhKernel.parse(kernel);
            } else {
                PvhKernel.parse(Vmlinux.extract(kernel)); // what LinuxVm.boot does with a bzImage
            }
        } catch (VmmException | IllegalArgumentException e) {
            throw new TemplateException(TemplateException.Kind.INVALID_INPUT, "kernel " + spec.kernel()
                    + " is neither a bzImage nor a vmlinux ELF with a PVH entry: " + e.getMessage(), e);
        }
        Optional<String> missing = hostCheck.get();
        if (missing.isPresent()) {
            throw new TemplateException(TemplateException.Kind.UNSUPPORTED_HOST, "cannot build Linux template '" + spec.id()
                    + "' on this host: " + missing.get());
        }
        return new Inputs(kernel, vmlinux, initramfs);
    }

    /** Builds into {@code dir} (which must exist and be empty). */
    void build(LinuxTemplateSpec spec, Inputs in, Path dir) {
        long started = System.nanoTime();
        LinuxBootConfig config = LinuxBootConfig.of(spec.cmdline(), spec.memoryMiB(), spec.vcpus())
                .withInitramfs(in.initramfs()).withIdentity(TemplateBuilder.TEMPLATE_IDENTITY);
        String name = "template-" + spec.id();
        try (LinuxVm vm = in.vmlinux() ? LinuxVm.bootVmlinux(name, kvm, in.kernel(), config) : LinuxVm.boot(name, kvm, in.kernel(), config)) {
            // The kernel takes far longer to reach its agent than this takes to ask for the HELLO.
            CompletableFuture<IdentityReport> hello = vm.agent().expectHello();
            IdentityReport report = GuestStops.awaitHello(vm, hello, readyTimeout, "Linux template guest");
            if (report.generation() != 1 || !report.sandboxId().equals(TemplateBuilder.TEMPLATE_IDENTITY.sandboxId())) {
                throw new TemplateException(TemplateException.Kind.GUEST_FAILURE, "guest agent reported identity generation "
                        + report.generation() + " for '" + report.sandboxId() + "', expected 1 for 'basepoint'");
            }
            vm.snapshot(dir, metadata(spec, in, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started)));
        }
    }

    /** The template's metadata beside the VMM's linux.* keys (docs/snapshot-format.md). */
    static Map<String, String> metadata(LinuxTemplateSpec spec, Inputs in, long bootMillis) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(Template.META_ID, spec.id());
        m.put(GuestKind.META_KEY, GuestKind.LINUX.label());
        m.put(Template.META_CREATED, Instant.now().toString());
        m.put(Template.META_IMAGE_SHA256, TemplateBuilder.sha256(in.kernel()));
        m.put(Template.META_IMAGE_BYTES, Integer.toString(in.kernel().length));
        m.put(Template.META_INITRAMFS_SHA256, TemplateBuilder.sha256(in.initramfs()));
        m.put(Template.META_BUILD_MILLIS, Long.toString(bootMillis));
        m.put(Template.META_HOSTD_VERSION, Version.VERSION);
        return m;
    }

    static boolean isElf(byte[] b) {
        return b.length >= 4 && b[0] == 0x7f && b[1] == 'E' && b[2] == 'L' && b[3] == 'F';
    }

    private static byte[] read(String field, Path file, long maxBytes) {
        try {
            long size = Files.size(file);
            if (size == 0 || size > maxBytes) {
                throw new TemplateException(TemplateException.Kind.INVALID_INPUT,
                        field + " " + file + " is " + size + " bytes; expected 1.." + maxBytes);
            }
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new TemplateException(TemplateException.Kind.INVALID_INPUT, "cannot read " + field + " " + file + ": " + e, e);
        }
    }
}
