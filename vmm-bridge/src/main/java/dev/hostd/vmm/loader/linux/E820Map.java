package dev.hostd.vmm.loader.linux;

import dev.hostd.vmm.VmmException;
import java.util.ArrayList;
import java.util.List;

/**
 * The guest's memory map as the kernel sees it (the zero page's e820 table): RAM below 640 KiB, the
 * legacy VGA/BIOS area reserved (ACPI tables may live there), RAM from 1 MiB up to the MMIO hole, and
 * any RAM beyond the hole from 4 GiB on. Guest memory itself is contiguous; the VMM maps the part
 * above the hole start at 4 GiB.
 */
public record E820Map(List<Entry> entries) {
    public record Entry(long address, long size, int type) {
        public long end() {
            return address + size;
        }
    }

    public static final long LOW_RAM_END = 0xA0000;
    public static final long HIGH_RAM_START = 0x100000;
    public static final long FOUR_GIB = 1L << 32;

    public E820Map {
        entries = List.copyOf(entries);
        if (entries.size() > ZeroPage.E820_MAX_ENTRIES_ZEROPAGE) {
            throw new VmmException(VmmException.Kind.INVALID_INPUT, "build e820 map",
                    entries.size() + " e820 entries, the zero page holds " + ZeroPage.E820_MAX_ENTRIES_ZEROPAGE);
        }
    }

    /** The map of a guest with {@code ramSize} bytes of RAM and an MMIO hole from {@code mmioHoleStart} to 4 GiB. */
    public static E820Map forGuest(long ramSize, long mmioHoleStart) {
        return forGuest(ramSize, mmioHoleStart, LOW_RAM_END);
    }

    /**
     * As {@link #forGuest(long, long)}, but low RAM ends at {@code lowRamEnd} (page-aligned, at most
     * 640 KiB) and the rest up to 1 MiB is reserved: one entry, as Linux would merge two adjacent
     * reserved ones (LinuxLayout.IDENTITY_PAGE lives there).
     */
    public static E820Map forGuest(long ramSize, long mmioHoleStart, long lowRamEnd) {
        if (lowRamEnd <= 0 || lowRamEnd > LOW_RAM_END || (lowRamEnd & 0xFFF) != 0) {
            throw new VmmException(VmmException.Kind.INVALID_INPUT, "build e820 map",
                    "low RAM end 0x" + Long.toHexString(lowRamEnd) + " is not a page boundary in (0, 640 KiB]");
        }
        if (ramSize <= HIGH_RAM_START) {
            throw new VmmException(VmmException.Kind.INVALID_INPUT, "build e820 map",
                    "guest RAM of " + ramSize + " bytes is not above 1 MiB: a Linux guest needs RAM above 1 MiB");
        }
        if (mmioHoleStart <= HIGH_RAM_START || mmioHoleStart > FOUR_GIB) {
            throw new VmmException(VmmException.Kind.INVALID_INPUT, "build e820 map",
                    "MMIO hole start 0x" + Long.toHexString(mmioHoleStart) + " is not between 1 MiB and 4 GiB");
        }
        List<Entry> entries = new ArrayList<>();
        entries.add(new Entry(0, lowRamEnd, ZeroPage.E820_RAM));
        entries.add(new Entry(lowRamEnd, HIGH_RAM_START - lowRamEnd, ZeroPage.E820_RESERVED));
        long belowHole = Math.min(ramSize, mmioHoleStart);
        entries.add(new Entry(HIGH_RAM_START, belowHole - HIGH_RAM_START, ZeroPage.E820_RAM));
        if (ramSize > mmioHoleStart) {
            entries.add(new Entry(FOUR_GIB, ramSize - mmioHoleStart, ZeroPage.E820_RAM));
        }
        return new E820Map(entries);
    }
}
