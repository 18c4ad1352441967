package dev.hostd.vmm.kvm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Whether this host's CPUs have hardware virtualization (a {@code vmx} or {@code svm} flag in
 * /proc/cpuinfo). Without it KVM may still work (PVM, host-facts.md), but it emulates every
 * guest kernel instruction, so a Linux guest never reaches its agent in useful time: Linux
 * templates are refused up front there, and the Linux boot tests are skipped with this reason.
 */
public final class HardwareVirtualization {
    public static final Path CPUINFO = Path.of("/proc/cpuinfo");
    private static final Pattern FLAG = Pattern.compile("\\b(vmx|svm)\\b");

    private HardwareVirtualization() {}

    /** Empty if /proc/cpuinfo shows vmx or svm; else why Linux guests cannot run here. */
    public static Optional<String> missing() {
        String text;
        try {
            text = Files.readString(CPUINFO);
        } catch (IOException e) {
            return Optional.of("Linux guests need hardware virtualization (vmx/svm), and " + CPUINFO + " is unreadable: " + e);
        }
        return missing(text);
    }

    /** As {@link #missing()} for the text of a cpuinfo file: only its {@code flags} lines count. */
    public static Optional<String> missing(String cpuinfo) {
        boolean found = cpuinfo.lines().filter(l -> l.startsWith("flags")).anyMatch(l -> FLAG.matcher(l).find());
        return found ? Optional.empty() : Optional.of("Linux guests need hardware virtualization (vmx/svm): " + CPUINFO
                + " shows neither, so this host's KVM is PVM or has none and would emulate every guest kernel instruction"
                + " (a Linux kernel would not reach its agent in useful time)");
    }

    public static boolean present() {
        return missing().isEmpty();
    }
}
