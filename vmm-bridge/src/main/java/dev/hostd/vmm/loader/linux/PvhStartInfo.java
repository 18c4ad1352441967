package dev.hostd.vmm.loader.linux;

import dev.hostd.vmm.VmmException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The PVH boot protocol's {@code struct hvm_start_info}, version 1 (Xen's
 * public/arch-x86/hvm/start_info.h, which Linux's arch/x86/platform/pvh/enlighten.c reads), and
 * the {@code hvm_memmap_table_entry} array it points at. Linux takes the memory map (it becomes
 * the "BIOS-e820" lines), the command line and the RSDP address from it.
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
 * </pre>
 */
public final class PvhStartInfo {
    public static final int MAGIC = 0x336ec578;
    public static final int VERSION = 1;
    public static final int SIZE = 56;
    public static final int MEMMAP_ENTRY_SIZE = 24;
    static final int MAGIC_OFFSET = 0, VERSION_OFFSET = 4, FLAGS_OFFSET = 8, NR_MODULES_OFFSET = 12, MODLIST_OFFSET = 16,
            CMDLINE_OFFSET = 24, RSDP_OFFSET = 32, MEMMAP_OFFSET = 40, MEMMAP_ENTRIES_OFFSET = 48;

    private PvhStartInfo() {}

    /** start_info for a guest without modules (no initrd yet). */
    public static byte[] build(long cmdlinePaddr, long rsdpPaddr, long memmapPaddr, E820Map map) {
        if (cmdlinePaddr <= 0 || rsdpPaddr <= 0 || memmapPaddr <= 0) {
            throw new VmmException(VmmException.Kind.INVALID_INPUT, "build PVH start info", String.format(
                    "command line 0x%X, RSDP 0x%X and memory map 0x%X must all be placed (non-zero)", cmdlinePaddr, rsdpPaddr, memmapPaddr));
        }
        ByteBuffer b = ByteBuffer.allocate(SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(MAGIC_OFFSET, MAGIC).putInt(VERSION_OFFSET, VERSION)
                .putLong(CMDLINE_OFFSET, cmdlinePaddr).putLong(RSDP_OFFSET, rsdpPaddr)
                .putLong(MEMMAP_OFFSET, memmapPaddr).putInt(MEMMAP_ENTRIES_OFFSET, map.entries().size());
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
