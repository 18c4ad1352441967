package dev.hostd.bench.linux;

import java.util.List;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/** A point of a Linux boot recognised on its serial console. */
record BootMilestone(String name, String description, Predicate<String> reached) {
    static final BootMilestone E820 = new BootMilestone("e820", "printed the e820 map it was given",
            console -> console.contains("BIOS-e820: "));
    static final BootMilestone ACPI = new BootMilestone("acpi", "found the ACPI tables (RSDP, XSDT, FACP, DSDT, APIC)",
            console -> List.of("RSDP", "XSDT", "FACP", "DSDT", "APIC").stream().allMatch(t -> console.contains("ACPI: " + t + " ")));
    /** Without an initramfs or a disk, the end of the kernel's own start-up is its failure to mount a root. */
    static final BootMilestone ROOT_MOUNT = new BootMilestone("root_mount", "reached the root mount (kernel start-up done)",
            Pattern.compile("VFS: Unable to mount root fs|Kernel panic - not syncing").asPredicate());

    /** What can be waited for: on PVM every kernel instruction is emulated, so only the first two (host-facts.md). */
    static List<BootMilestone> reachable(boolean hardwareVirtualization) {
        return hardwareVirtualization ? List.of(E820, ACPI, ROOT_MOUNT) : List.of(E820, ACPI);
    }
}
