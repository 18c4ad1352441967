package dev.hostd.vmm.loader.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hostd.vmm.VmmException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * hvm_start_info and its memory map against the offsets of Xen's public/arch-x86/hvm/start_info.h
 * (version 1), which Linux's arch/x86/platform/pvh/enlighten.c reads.
 */
class PvhStartInfoTest {
    @Test
    void startInfoHasTheVersionOneLayout() {
        E820Map map = E820Map.forGuest(256L << 20, 0xD000_0000L);
        byte[] info = PvhStartInfo.build(0x20000, 0xE0000, 0x6040, map);
        assertEquals(56, info.length, "sizeof(struct hvm_start_info) with the version 1 fields");
        ByteBuffer b = ByteBuffer.wrap(info).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(0x336ec578, b.getInt(0), "magic");
        assertEquals(1, b.getInt(4), "version");
        assertEquals(0, b.getInt(8), "flags");
        assertEquals(0, b.getInt(12), "nr_modules");
        assertEquals(0, b.getLong(16), "modlist_paddr");
        assertEquals(0x20000, b.getLong(24), "cmdline_paddr");
        assertEquals(0xE0000, b.getLong(32), "rsdp_paddr");
        assertEquals(0x6040, b.getLong(40), "memmap_paddr");
        assertEquals(3, b.getInt(48), "memmap_entries");
        assertEquals(0, b.getInt(52), "reserved");
    }

    @Test
    void memmapEntriesAreTheE820Map() {
        E820Map map = E820Map.forGuest(5L << 30, 0xD000_0000L); // RAM past the hole: 4 entries
        byte[] mm = PvhStartInfo.memmap(map);
        assertEquals(4 * 24, mm.length);
        ByteBuffer b = ByteBuffer.wrap(mm).order(ByteOrder.LITTLE_ENDIAN);
        long[][] expected = {{0, 0xA0000, 1}, {0xA0000, 0x60000, 2}, {0x100000, 0xD000_0000L - 0x100000, 1},
                {1L << 32, (5L << 30) - 0xD000_0000L, 1}};
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i][0], b.getLong(24 * i), "addr " + i);
            assertEquals(expected[i][1], b.getLong(24 * i + 8), "size " + i);
            assertEquals(expected[i][2], b.getInt(24 * i + 16), "type " + i);
            assertEquals(0, b.getInt(24 * i + 20), "reserved " + i);
        }
    }

    @Test
    void badInputIsRefused() {
        E820Map map = E820Map.forGuest(256L << 20, 0xD000_0000L);
        VmmException e = assertThrows(VmmException.class, () -> PvhStartInfo.build(0, 0xE0000, 0x6040, map));
        assertTrue(e.getMessage().contains("must all be placed"), e.getMessage());
        List<E820Map.Entry> many = new ArrayList<>();
        for (int i = 0; i < 120; i++) {
            many.add(new E820Map.Entry(i * 0x1000L, 0x1000, 1));
        }
        // E820Map caps at the zero page's 128, the memmap area holds 128 too: both limits agree.
        assertEquals(ZeroPage.E820_MAX_ENTRIES_ZEROPAGE, LinuxLayout.MAX_MEMMAP_ENTRIES);
        assertEquals(120 * 24, PvhStartInfo.memmap(new E820Map(many)).length);
        assertTrue(LinuxLayout.MEMMAP + (long) LinuxLayout.MAX_MEMMAP_ENTRIES * 24 <= LinuxLayout.CMDLINE,
                "a full memory map stays clear of the command line");
        assertTrue(LinuxLayout.START_INFO + PvhStartInfo.SIZE <= LinuxLayout.MEMMAP);
    }
}
