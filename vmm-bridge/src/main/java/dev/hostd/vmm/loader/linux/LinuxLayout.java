package dev.hostd.vmm.loader.linux;

import dev.hostd.vmm.acpi.AcpiTables;

/**
 * Where the VMM puts a Linux guest's boot structures below 1 MiB (docs/guest-abi.md, "Linux
 * guests"). The kernel's own segments start at 16 MiB (CONFIG_PHYSICAL_START) and are never here.
 */
public final class LinuxLayout {
    /** Flat 32-bit GDT the vCPU's segment registers are loaded from; pvh_start_xen replaces it at once. */
    public static final long GDT = 0x0500;
    /** struct hvm_start_info, pointed at by EBX on the PVH entry. */
    public static final long START_INFO = 0x6000;
    /** The hvm_memmap_table_entry array, right after start_info. */
    public static final long MEMMAP = 0x6040;
    /** Room for the memory map: up to 128 entries of 24 bytes, to 0x6C40. */
    public static final int MAX_MEMMAP_ENTRIES = 128;
    /** The NUL-terminated command line, up to {@link #CMDLINE_MAX} bytes with the NUL. */
    public static final long CMDLINE = 0x20000;
    public static final int CMDLINE_MAX = 2048;
    /** The ACPI tables, RSDP first, in the BIOS area the e820 map reserves. */
    public static final long ACPI = AcpiTables.BIOS_AREA;

    private LinuxLayout() {}
}
