package dev.hostd.vmm.machine;

import dev.hostd.vmm.acpi.AcpiLayout;
import dev.hostd.vmm.loader.linux.E820Map;

/**
 * What a Linux guest was told at boot, for tests and diagnostics to compare with what it prints.
 *
 * @param e820     the memory map in hvm_start_info or the zero page (the kernel's "BIOS-e820" lines)
 * @param acpi     the ACPI tables and where they were placed
 * @param entry    the physical address the vCPU started at (the PVH note's entry, or startup_64 on the 64-bit bzImage entry)
 * @param kernelEnd the first address past the kernel's loaded segments (on the 64-bit entry: the load address + init_size)
 * @param cmdline   the command line the kernel got (the caller's plus {@code hostd.identity=})
 * @param identityPage guest-physical address of the identity page (reserved in the e820 map)
 * @param initrdAddress guest-physical address of the initramfs, 0 for none
 * @param initrdSize    its size in bytes, 0 for none
 */
public record LinuxBootLayout(E820Map e820, AcpiLayout acpi, long entry, long kernelEnd, String cmdline, long identityPage,
        long initrdAddress, long initrdSize) {}
