package dev.hostd.vmm.loader.linux;

import dev.hostd.vmm.VmmException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The PVH boot protocol's {@code struct hvm_start_info}, version 1 (Xen's
 * public/arch-x86/hvm/start_info.h, which Linux's arch/x86/platform/pvh/enlighten.c reads), and
 * the {@code hvm_memmap_table_entry} array it points at. Linux takes the memory map (it becomes
 * the "BIOS-e820" lines), the command line and the RSDP address from it, and the first module
 * of the {@code hvm_modlist_entry} list as its initrd (ramdisk_image/ramdisk_size).
 *
 * <pre>
 * hvm_start_info (56 bytes)            hvm_memmap_table_entry (24 bytes)
 *   0 u32 magic 0x336ec578               0 u64 addr
 *   4 u32 version 1                      8 u64 size
 *   8 u32 flags                         16 u32 type (e820 types)
 *  12 u32 nr_modules                    20 u32 reserved
 *  16 u64 modlist_paddr
 *  24 u64 cmdline_paddr
 *  32 u64 rsdp_paddr
 *  40 u64 memmap_paddr
 *  48 u32 memmap_entries
 *  52 u32 reserved
 *
 * hvm_modlist_entry (32 bytes)
 *   0 u64 paddr
 *   8 u64 size
 *  16 u64 cmdline_paddr (0: none)
 *  24 u64 reserved
 * </pre>
 */
public final class PvhStartInfo {
    public static final int MAGIC = 0x336ec578;
    public static final int VERSION = 1;
    public static final int SIZE = 56;
    public static final int MEMMAP_ENTRY_SIZE = 24;
    public static final int MODLIST_ENTRY_SIZE = 32;
    static final int MAGIC_OFFSET = 0, VERSION_OFFSET = 4, FLAGS_OFFSET = 8, NR_MODULES_OFFSET = 12, MODLIST_OFFSET = 16,
            CMDLINE_OFFSET = 24, RSDP_OFFSET = 32, MEMMAP_OFFSET = 40, MEMMAP_ENTRIES_OFFSET = 48;

    private PvhStartInfo() {}

    /** A module handed to the guest: Linux takes the first as its initrd. */
    public record Module(long paddr, long size, long cmdlinePaddr) {}

    /** start_info for a guest without modules. */
    public static byte[] build(long cmdlinePaddr, long rsdpPaddr, long memmapPaddr, E820Map map) {
        return build(cmdlinePaddr, rsdpPaddr, memmapPaddr, map, 0, 0);
    }

    /** start_info naming {@code nrModules} hvm_modlist_entry records at {@code modlistPaddr} (0 and 0 for none). */
    public static byte[] build(long cmdlinePaddr, long rsdpPaddr, long memmapPaddr, E820Map map, long modlistPaddr, int nrModules) {
        if ((nrModules == 0) != (modlistPaddr == 0) || nrModules < 0) {
            throw new VmmException(VmmException.Kind.INVALID_INPUT, "build PVH start info", String.format(
                    "%d modules at 0x%X: give a module list address exactly when there are modules", nrModules, modlistPaddr));
        }
        if (cmdlinePaddr <= 0 || rsdpPaddr <= 0 || memmapPaddr <= 0) {
            throw new VmmException(VmmException.Kind.INVALID_INPUT, "build PVH start info", String.format(
                    "command line 0x%X, RSDP 0x%X and memory map 0x%X must all be placed (non-zero)", cmdlinePaddr, rsdpPaddr, memmapPaddr));
        }
        ByteBuffer b = ByteBuffer.allocate(SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(MAGIC_OFFSET, MAGIC).putInt(VERSION_OFFSET, VERSION)
                .putLong(CMDLINE_OFFSET, cmdlinePaddr).putLong(RSDP_OFFSET, rsdpPaddr)
                .putLong(MEMMAP_OFFSET, memmapPaddr).putInt(MEMMAP_ENTRIES_OFFSET, map.entries().size())
                .putInt(NR_MODULES_OFFSET, nrModules).putLong(MODLIST_OFFSET, modlistPaddr);
        return b.array();
    }

    /** The module list as hvm_modlist_entry records. */
    public static byte[] modlist(java.util.List<Module> modules) {
        if (modules.size() > LinuxLayout.MAX_MODULES) {
            throw new VmmException(VmmException.Kind.INVALID_INPUT, "build PVH module list",
                    modules.size() + " modules, at most " + LinuxLayout.MAX_MODULES);
        }
        ByteBuffer b = ByteBuffer.allocate(modules.size() * MODLIST_ENTRY_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        for (Module m : modules) {
            if (m.paddr() <= 0 || m.size() <= 0 || m.cmdlinePaddr() < 0) {
                throw new VmmException(VmmException.Kind.INVALID_INPUT, "build PVH module list", String.format(
                        "module at 0x%X of %d bytes: a module needs a placed address and a non-zero size", m.paddr(), m.size()));
            }
            b.putLong(m.paddr()).putLong(m.size()).putLong(m.cmdlinePaddr()).putLong(0);
        }
        return b.array();
    }

    /** The memory map as hvm_memmap_table_entry records. */
    public static byte[] memmap(E820Map map) {
        if (map.entries().size() > LinuxLayout.MAX_MEMMAP_ENTRIES) {
            throw new VmmException(VmmException.Kind.INVALID_INPUT, "build PVH memory map",
                    map.entries().size() + " entries, at most " + LinuxLayout.MAX_MEMMAP_ENTRIES);
        }
        ByteBuffer b = ByteBuffer.allocate(map.entries().size() * MEMMAP_ENTRY_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        for (E820Map.Entry e : map.entries()) {
            b.putLong(e.address()).putLong(e.size()).putInt(e.type()).putInt(0);
        }
        return b.array();
    }
}
