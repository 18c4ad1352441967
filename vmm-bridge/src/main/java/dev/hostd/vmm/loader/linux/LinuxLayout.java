package dev.hostd.vmm.loader.linux;

import dev.hostd.vmm.acpi.AcpiTables;

/**
 * Where the VMM puts a Linux guest's boot structures below 1 MiB (docs/guest-abi.md, "Linux
 * guests"). The kernel's own segments start at 16 MiB (CONFIG_PHYSICAL_START) and are never here.
 */
public final class LinuxLayout {
    /**
     * The boot GDT the vCPU's segment registers are loaded from: PVH's flat 32-bit one, or the
     * 64-bit bzImage entry's (LongModeBoot); the kernel replaces it at once.
     */
    public static final long GDT = 0x0500;
    /** struct hvm_start_info, pointed at by EBX on the PVH entry. */
    public static final long START_INFO = 0x6000;
    /** The hvm_memmap_table_entry array, right after start_info. */
    public static final long MEMMAP = 0x6040;
    /** Room for the memory map: up to 128 entries of 24 bytes, to 0x6C40. */
    public static final int MAX_MEMMAP_ENTRIES = 128;
    /** The PVH module list (one hvm_modlist_entry per module, 32 bytes each), right after a full memory map. */
    public static final long MODLIST = 0x6C40;
    /** Room for the module list: up to 4 entries, to 0x6CC0. */
    public static final int MAX_MODULES = 4;
    /** The zero page (struct boot_params) on the 64-bit bzImage entry, pointed at by RSI; one page. */
    public static final long ZERO_PAGE = 0x7000;
    /**
     * Identity-mapped page tables of the 64-bit bzImage entry: the PML4, then one PDPT, then four
     * page directories of 2 MiB pages mapping the first 4 GiB, to 0xF000. The decompressor builds
     * its own tables; these need only last until it does.
     */
    public static final long PML4 = 0x9000;
    public static final long PDPT = 0xA000;
    public static final long PAGE_DIRECTORIES = 0xB000;
    /** The NUL-terminated command line, up to {@link #CMDLINE_MAX} bytes with the NUL. */
    public static final long CMDLINE = 0x20000;
    public static final int CMDLINE_MAX = 2048;
    /** The ACPI tables, RSDP first, in the BIOS area the e820 map reserves. */
    public static final long ACPI = AcpiTables.BIOS_AREA;
    /**
     * The identity page (docs/guest-abi.md) of a Linux guest: the last page below 640 KiB, which the
     * memory map reserves (with the BIOS area above it, as a PC's EBDA), so the agent may mmap it from
     * /dev/mem and the kernel never hands it out. Named on the command line as {@code hostd.identity=}.
     */
    public static final long IDENTITY_PAGE = 0x9F000;
    /** Low RAM ends where the identity page starts; reserved from there to 1 MiB. */
    public static final long LOW_RAM_END = IDENTITY_PAGE;
    /**
     * Highest address the initramfs may reach: the boot protocol's initrd_addr_max default (and
     * Debian's value). PVH has no such field; the VMM keeps to it anyway.
     */
    public static final long INITRD_ADDR_MAX = 0x7FFF_FFFFL;

    private LinuxLayout() {}
}
