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
    void modulesAreNamedInStartInfoAndListedAsModlistEntries() {
        E820Map map = E820Map.forGuest(128L << 20, 0xD000_0000L, LinuxLayout.LOW_RAM_END);
        byte[] info = PvhStartInfo.build(0x20000, 0xE0000, 0x6040, map, LinuxLayout.MODLIST, 1);
        ByteBuffer b = ByteBuffer.wrap(info).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(1, b.getInt(12), "nr_modules");
        assertEquals(0x6C40, b.getLong(16), "modlist_paddr");
        assertEquals(0x20000, b.getLong(24), "cmdline_paddr unchanged");

        byte[] list = PvhStartInfo.modlist(List.of(new PvhStartInfo.Module(0x7CB2000, 0x34D123, 0)));
        assertEquals(32, list.length, "sizeof(struct hvm_modlist_entry)");
        ByteBuffer m = ByteBuffer.wrap(list).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(0x7CB2000, m.getLong(0), "paddr");
        assertEquals(0x34D123, m.getLong(8), "size");
        assertEquals(0, m.getLong(16), "cmdline_paddr");
        assertEquals(0, m.getLong(24), "reserved");
        assertEquals(0, PvhStartInfo.modlist(List.of()).length);
        assertTrue(LinuxLayout.MODLIST >= LinuxLayout.MEMMAP + (long) LinuxLayout.MAX_MEMMAP_ENTRIES * 24,
                "the module list starts after a full memory map");
        assertTrue(LinuxLayout.MODLIST + (long) LinuxLayout.MAX_MODULES * 32 <= LinuxLayout.CMDLINE);
    }

    @Test
    void theLinuxMapReservesTheIdentityPageWithTheBiosArea() {
        E820Map map = E820Map.forGuest(128L << 20, 0xD000_0000L, LinuxLayout.LOW_RAM_END);
        assertEquals(List.of(new E820Map.Entry(0, 0x9F000, 1), new E820Map.Entry(0x9F000, 0x61000, 2),
                new E820Map.Entry(0x100000, (128L << 20) - 0x100000, 1)), map.entries());
        assertEquals(0x9F000, LinuxLayout.IDENTITY_PAGE);
        assertTrue(LinuxLayout.IDENTITY_PAGE + 4096 <= LinuxLayout.ACPI, "clear of the ACPI tables");
        assertThrows(VmmException.class, () -> E820Map.forGuest(128L << 20, 0xD000_0000L, 0x9F800));
        assertThrows(VmmException.class, () -> E820Map.forGuest(128L << 20, 0xD000_0000L, 0xA1000));
    }

    @Test
    void badModulesAreRefused() {
        E820Map map = E820Map.forGuest(128L << 20, 0xD000_0000L);
        VmmException e = assertThrows(VmmException.class, () -> PvhStartInfo.build(0x20000, 0xE0000, 0x6040, map, 0, 1));
        assertTrue(e.getMessage().contains("1 modules at 0x0"), e.getMessage());
        assertThrows(VmmException.class, () -> PvhStartInfo.build(0x20000, 0xE0000, 0x6040, map, 0x6C40, 0));
        VmmException zero = assertThrows(VmmException.class, () -> PvhStartInfo.modlist(List.of(new PvhStartInfo.Module(0x7000000, 0, 0))));
        assertTrue(zero.getMessage().contains("non-zero size"), zero.getMessage());
        PvhStartInfo.Module one = new PvhStartInfo.Module(0x7000000, 1, 0);
        VmmException many = assertThrows(VmmException.class, () -> PvhStartInfo.modlist(List.of(one, one, one, one, one)));
        assertTrue(many.getMessage().contains("5 modules, at most 4"), many.getMessage());
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
