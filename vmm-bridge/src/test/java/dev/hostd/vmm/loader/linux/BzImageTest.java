package dev.hostd.vmm.loader.linux;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hostd.vmm.VmmException;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class BzImageTest {
    @Test
    void aValidImageParses() {
        byte[] file = TestImages.bzImage();
        BzImage image = BzImage.parse(file);
        assertEquals(0x020F, image.protocolVersion());
        assertEquals("2.15", BzImage.versionText(image.protocolVersion()));
        assertEquals(TestImages.SETUP_SECTS, image.setupSects());
        assertEquals(2048, image.kernelOffset());
        assertEquals(TestImages.KERNEL_SIZE, image.kernelSize());
        assertTrue(image.relocatable());
        assertEquals(0x20_0000, image.kernelAlignment());
        assertEquals(2047, image.cmdlineSize());
        assertEquals(2048 + 0x400, image.payloadFileOffset());
        assertEquals(0x26c - 0x1f1, image.setupHeader().length, "the setup header runs to 0x202 + the jump byte");
        assertEquals(TestImages.PREF_ADDRESS, image.loadAddress(64L << 20));
        assertEquals(TestImages.PREF_ADDRESS + 0x200, image.entry64(image.loadAddress(64L << 20)));
        assertArrayEquals(Arrays.copyOfRange(file, 2048, file.length), image.kernel(file));
    }

    @Test
    void setupSectsZeroMeansFour() {
        byte[] file = TestImages.with(Arrays.copyOf(TestImages.bzImage(), 5 * 512 + TestImages.KERNEL_SIZE), 0x1f1, 0, 1);
        assertEquals(4, BzImage.parse(file).setupSects());
        assertEquals(5 * 512, BzImage.parse(file).kernelOffset());
    }

    @Test
    void truncatedImagesAreRefused() {
        byte[] file = TestImages.bzImage();
        assertRefused(Arrays.copyOf(file, 0x100), "too short to hold a setup header");
        assertRefused(Arrays.copyOf(file, 0x240), "setup header ends at 0x26c but the file is 576 bytes");
        assertRefused(Arrays.copyOf(file, file.length - 1), "put the kernel at [2048, 10240) but the file is 10239 bytes");
    }

    @Test
    void wrongMagicIsRefused() {
        assertRefused(TestImages.with(TestImages.bzImage(), 0x202, 0x5372_6449, 4), "no \"HdrS\" magic at offset 0x202");
        assertRefused(TestImages.with(TestImages.bzImage(), 0x1fe, 0x1234, 2), "boot_flag is 0x1234, not 0xaa55");
    }

    @Test
    void tooOldProtocolIsRefused() {
        assertRefused(TestImages.with(TestImages.bzImage(), 0x206, 0x020B, 2), "boot protocol 2.11 is older than 2.12");
    }

    @Test
    void kernelsWithout64BitEntryAreRefused() {
        assertRefused(TestImages.with(TestImages.bzImage(), 0x236, 0x2, 2), "xloadflags 0x2 lacks XLF_KERNEL_64");
        assertRefused(TestImages.with(TestImages.bzImage(), 0x211, 0, 1), "loadflags lacks LOADED_HIGH");
    }

    @Test
    void inconsistentHeaderFieldsAreRefused() {
        assertRefused(TestImages.with(TestImages.bzImage(), 0x1f4, 0, 4), "syssize is 0");
        assertRefused(TestImages.with(TestImages.bzImage(), 0x230, 0x30_0000, 4), "kernel_alignment 0x300000 is not a power of two");
        assertRefused(TestImages.with(TestImages.bzImage(), 0x258, 0x1000, 8), "pref_address 0x1000 is below 1 MiB");
        assertRefused(TestImages.with(TestImages.bzImage(), 0x260, 0x1000, 4), "init_size 0x1000 is smaller than the kernel");
        assertRefused(TestImages.with(TestImages.bzImage(), 0x24c, 0x2000, 4), "payload_offset 0x400 + payload_length 0x2000 do not fit");
    }

    @Test
    void tooLittleRamForTheKernelIsRefused() {
        BzImage image = BzImage.parse(TestImages.bzImage());
        VmmException e = assertThrows(VmmException.class, () -> image.loadAddress(16L << 20));
        assertTrue(e.getMessage().contains("give the guest at least 17 MiB"), e.getMessage());
        assertEquals(VmmException.Kind.INVALID_INPUT, e.kind());
    }

    @Test
    void loadCopiesTheProtectedModeKernelToPrefAddress() {
        byte[] file = TestImages.bzImage();
        BzImage image = BzImage.parse(file);
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            dev.hostd.vmm.memory.GuestMemory memory = new dev.hostd.vmm.memory.GuestMemory(arena.allocate(32L << 20, 4096));
            assertEquals(0x100_0000, image.load(memory, file, 32L << 20));
            byte[] loaded = new byte[TestImages.KERNEL_SIZE];
            memory.read(0x100_0000, loaded, 0, loaded.length);
            assertArrayEquals(Arrays.copyOfRange(file, 4 * 512, 4 * 512 + TestImages.KERNEL_SIZE), loaded,
                    "the file from (setup_sects + 1) * 512, syssize * 16 bytes");
            assertEquals(0, memory.readU8(0x100_0000 - 1), "nothing before it");
            assertEquals(0, memory.readU8(0x100_0000 + TestImages.KERNEL_SIZE), "nor after it");
            assertEquals(0x110_0000, image.end(0x100_0000), "the load address + init_size");
            VmmException e = assertThrows(VmmException.class, () -> image.load(memory, file, 16L << 20));
            assertTrue(e.getMessage().contains("pref_address 0x1000000 + init_size 0x100000"), e.getMessage());
        }
    }

    private static void assertRefused(byte[] file, String expected) {
        VmmException e = assertThrows(VmmException.class, () -> BzImage.parse(file));
        assertEquals(VmmException.Kind.INVALID_INPUT, e.kind());
        assertTrue(e.getMessage().startsWith("invalid bzImage: "), e.getMessage());
        assertTrue(e.getMessage().contains(expected), "message names the problem: " + e.getMessage());
    }
}
