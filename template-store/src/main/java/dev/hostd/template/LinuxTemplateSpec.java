package dev.hostd.template;

import dev.hostd.vmm.loader.GuestLayout;
import dev.hostd.vmm.machine.LinuxVm;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What to build a Linux Basepoint from: a stock kernel (a bzImage, or a vmlinux ELF with a PVH
 * note), the initramfs with the guest agent, RAM, vCPUs and the kernel command line. Each bad
 * value is INVALID_INPUT naming its field; the files are read (and the kernel's format checked)
 * by the build.
 *
 * @param cmdline the kernel command line; the VMM appends where the identity page is
 */
public record LinuxTemplateSpec(String id, Path kernel, Path initramfs, int memoryMiB, int vcpus, String cmdline) {
    /** A Linux guest's RAM ends below the MMIO hole (LinuxVm wires no RAM above it). */
    public static final int MIN_MEMORY_MIB = 64, MAX_MEMORY_MIB = (int) (GuestLayout.MMIO_BASE >> 20);
    public static final int MIN_VCPUS = 1, MAX_VCPUS = LinuxVm.MAX_VCPUS;
    /** The serial console (the sandbox's console log) and no speculation mitigations inside a single-tenant VM. */
    public static final String DEFAULT_CMDLINE = "console=ttyS0 mitigations=off";
    public static final int DEFAULT_MEMORY_MIB = 256, DEFAULT_VCPUS = 1;

    public LinuxTemplateSpec {
        TemplateSpec.validateId(id);
        requireReadableFile("kernel", kernel);
        requireReadableFile("initramfs", initramfs);
        if (memoryMiB < MIN_MEMORY_MIB || memoryMiB > MAX_MEMORY_MIB) {
            throw invalid("memoryMiB of a Linux template must be in " + MIN_MEMORY_MIB + ".." + MAX_MEMORY_MIB + ", got " + memoryMiB);
        }
        if (vcpus < MIN_VCPUS || vcpus > MAX_VCPUS) {
            throw invalid("vcpus of a Linux template must be in " + MIN_VCPUS + ".." + MAX_VCPUS + ", got " + vcpus);
        }
        if (cmdline == null) {
            throw invalid("cmdline is missing (give an empty one for none)");
        }
    }

    /** With the default command line. */
    public LinuxTemplateSpec(String id, Path kernel, Path initramfs, int memoryMiB, int vcpus) {
        this(id, kernel, initramfs, memoryMiB, vcpus, DEFAULT_CMDLINE);
    }

    private static void requireReadableFile(String field, Path file) {
        if (file == null) {
            throw invalid(field + " is missing");
        }
        if (!Files.isRegularFile(file)) {
            throw invalid(field + " " + file + " is not a regular file");
        }
        if (!Files.isReadable(file)) {
            throw invalid(field + " " + file + " is not readable");
        }
    }

    private static TemplateException invalid(String message) {
        return new TemplateException(TemplateException.Kind.INVALID_INPUT, message);
    }
}
