package dev.hostd.vmm.machine;

import dev.hostd.vmm.acpi.AcpiLayout;
import dev.hostd.vmm.loader.linux.E820Map;

/**
 * What a Linux guest was told at boot, for tests and diagnostics to compare with what it prints.
 *
 * @param e820     the memory map in hvm_start_info (the kernel's "BIOS-e820" lines)
 * @param acpi     the ACPI tables and where they were placed
 * @param pvhEntry the physical address the vCPU started at
 * @param kernelEnd the first address past the kernel's loaded segments
 */
public record LinuxBootLayout(E820Map e820, AcpiLayout acpi, long pvhEntry, long kernelEnd) {}
