package dev.hostd.vmm.loader.linux;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hostd.vmm.VmmException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The zero page, checked byte by byte at the offsets of boot.rst / bootparam.h (literal, not via ZeroPage). */
class BootParamsTest {
    private static final long HOLE = 0xD000_0000L;
    private final BzImage image = BzImage.parse(TestImages.bzImage());

    @Test
    void e820MapOfASmallGuest() {
        assertEquals(List.of(
                new E820Map.Entry(0, 0xA0000, 1),
                new E820Map.Entry(0xA0000, 0x60000, 2),
                new E820Map.Entry(0x100000, (256L << 20) - 0x100000, 1)), E820Map.forGuest(256L << 20, HOLE).entries());
    }

    @Test
    void e820MapLeavesTheMmioHole() {
        List<E820Map.Entry> e = E820Map.forGuest(4L << 30, HOLE).entries();
        assertEquals(4, e.size());
        assertEquals(new E820Map.Entry(0x100000, HOLE - 0x100000, 1), e.get(2));
        assertEquals(new E820Map.Entry(1L << 32, (4L << 30) - HOLE, 1), e.get(3), "RAM past the hole continues at 4 GiB");
        assertThrows(VmmException.class, () -> E820Map.forGuest(0x80000, HOLE));
        assertThrows(VmmException.class, () -> E820Map.forGuest(256L << 20, 5L << 30));
    }

    @Test
    void everyFieldTheLoaderWritesIsAtItsOffset() {
        byte[] page = BootParams.build(image, new BootParams.Settings(E820Map.forGuest(5L << 30, HOLE),
                0x20000, 42, 0x1_2345_6000L, 0x7000_0123L, 0xE0000));
        ByteBuffer b = ByteBuffer.wrap(page).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(4096, page.length);
        assertEquals(0xFF, Byte.toUnsignedInt(b.get(0x210)), "type_of_loader");
        assertEquals(0x81, Byte.toUnsignedInt(b.get(0x211)), "loadflags LOADED_HIGH | CAN_USE_HEAP");
        assertEquals(0xFE00, Short.toUnsignedInt(b.getShort(0x224)), "heap_end_ptr");
        assertEquals(0x20000, b.getInt(0x228), "cmd_line_ptr");
        assertEquals(0, b.getInt(0x0c8), "ext_cmd_line_ptr");
        assertEquals(0x2345_6000, b.getInt(0x218), "ramdisk_image low half");
        assertEquals(0x1, b.getInt(0x0c0), "ext_ramdisk_image high half");
        assertEquals(0x7000_0123, b.getInt(0x21c), "ramdisk_size");
        assertEquals(0, b.getInt(0x0c4), "ext_ramdisk_size");
        assertEquals(0xE0000, b.getLong(0x070), "acpi_rsdp_addr");
        assertEquals(4, b.get(0x1e8), "e820_entries");
        long[][] expected = {{0, 0xA0000, 1}, {0xA0000, 0x60000, 2}, {0x100000, HOLE - 0x100000, 1},
                {1L << 32, (5L << 30) - HOLE, 1}};
        for (int i = 0; i < expected.length; i++) {
            int at = 0x2d0 + 20 * i;
            assertEquals(expected[i][0], b.getLong(at), "e820[" + i + "].addr");
            assertEquals(expected[i][1], b.getLong(at + 8), "e820[" + i + "].size");
            assertEquals(expected[i][2], b.getInt(at + 16), "e820[" + i + "].type");
        }
        assertEquals(0, b.getLong(0x2d0 + 20 * 4), "nothing after the last entry");
        assertEquals(0x5372_6448, b.getInt(0x202), "the image's setup header: HdrS");
        assertEquals(0xAA55, Short.toUnsignedInt(b.getShort(0x1fe)), "boot_flag");
        assertEquals(0x020F, b.getShort(0x206), "version");
        assertEquals(0x100_0000L, b.getLong(0x258), "pref_address");
        byte[] zeros = new byte[0x1e8 - 0x0d0];
        assertArrayEquals(zeros, Arrays.copyOfRange(page, 0x0d0, 0x1e8), "fields hostd does not set stay zero");
    }

    @Test
    void noInitrdAndNoRsdpLeaveThoseFieldsZero() {
        byte[] page = BootParams.build(image, new BootParams.Settings(E820Map.forGuest(64L << 20, HOLE), 0x20000, 0, 0, 0, 0));
        ByteBuffer b = ByteBuffer.wrap(page).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(0, b.getInt(0x218));
        assertEquals(0, b.getInt(0x21c));
        assertEquals(0, b.getLong(0x070));
        assertEquals(3, b.get(0x1e8));
    }

    @Test
    void aCommandLineAbove4GiBSplitsIntoCmdLinePtrAndExtCmdLinePtr() {
        byte[] page = BootParams.build(image, new BootParams.Settings(E820Map.forGuest(64L << 20, HOLE), 0x1_0002_0000L, 5, 0, 0, 0));
        ByteBuffer b = ByteBuffer.wrap(page).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(0x20000, b.getInt(0x228), "cmd_line_ptr: the low 32 bits");
        assertEquals(1, b.getInt(0x0c8), "ext_cmd_line_ptr: the high 32 bits");
    }

    @Test
    void badSettingsAreRefused() {
        E820Map map = E820Map.forGuest(64L << 20, HOLE);
        assertRefused(new BootParams.Settings(map, 0x20000, 2048, 0, 0, 0), "the command line is 2048 bytes, the kernel takes at most 2047");
        assertRefused(new BootParams.Settings(map, 0, 10, 0, 0, 0), "cmd_line_ptr: command line at 0x0 of 10 bytes: give a positive guest address");
        assertRefused(new BootParams.Settings(map, 0x20000, 10, 0x100000, 0, 0), "ramdisk_image/ramdisk_size: initrd address 0x100000 and size 0: give both or neither");
        byte[] below2g = TestImages.with(TestImages.bzImage(), 0x236, ZeroPage.XLF_KERNEL_64, 2);
        VmmException e = assertThrows(VmmException.class, () -> BootParams.build(BzImage.parse(below2g),
                new BootParams.Settings(map, 0x20000, 10, 0x7fff_f000L, 0x2000, 0)));
        assertTrue(e.getMessage().contains("ends above initrd_addr_max 0x7fffffff"), e.getMessage());
        byte[] old = TestImages.with(TestImages.bzImage(), 0x206, 0x020D, 2);
        e = assertThrows(VmmException.class, () -> BootParams.build(BzImage.parse(old),
                new BootParams.Settings(map, 0x20000, 10, 0, 0, 0xE0000)));
        assertTrue(e.getMessage().contains("boot protocol 2.13 has no acpi_rsdp_addr"), e.getMessage());
    }

    @Test
    void commandLineIsNulTerminatedAscii() {
        assertArrayEquals(new byte[] {'a', ' ', 'b', 0}, BootParams.commandLine("a b"));
        assertThrows(VmmException.class, () -> BootParams.commandLine("caf\u00e9"));
        assertThrows(VmmException.class, () -> BootParams.commandLine("a\0b"));
    }

    private void assertRefused(BootParams.Settings settings, String expected) {
        VmmException e = assertThrows(VmmException.class, () -> BootParams.build(image, settings));
        assertEquals(VmmException.Kind.INVALID_INPUT, e.kind());
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}
