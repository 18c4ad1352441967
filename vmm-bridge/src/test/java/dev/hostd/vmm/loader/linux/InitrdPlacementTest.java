package dev.hostd.vmm.loader.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hostd.vmm.VmmException;
import org.junit.jupiter.api.Test;

/** Where the initramfs goes: the top of RAM, page-aligned, above the kernel, below initrd_addr_max. */
class InitrdPlacementTest {
    static final long KERNEL_END = 0x3A00000; // about where Debian's 6.1 vmlinux ends (16 MiB + 42 MiB)

    @Test
    void itGoesAsHighAsItFitsOnAPageBoundary() {
        assertEquals((128L << 20) - 0x34E000, InitrdPlacement.place(0x34D123, KERNEL_END, 128L << 20));
        assertEquals((128L << 20) - 0x1000, InitrdPlacement.place(1, KERNEL_END, 128L << 20));
        assertEquals((128L << 20) - 0x1000, InitrdPlacement.place(0x1000, KERNEL_END, 128L << 20));
    }

    @Test
    void itStaysBelowInitrdAddrMaxWhenRamGoesHigher() {
        long at = InitrdPlacement.place(0x100000, KERNEL_END, 0xD000_0000L);
        assertEquals(0x8000_0000L - 0x100000, at);
        assertTrue(at + 0x100000 - 1 <= LinuxLayout.INITRD_ADDR_MAX);
    }

    @Test
    void itMayEndRightAtTheKernelButNotOverlapIt() {
        long ram = 128L << 20;
        assertEquals(KERNEL_END, InitrdPlacement.place(ram - KERNEL_END, KERNEL_END, ram));
        VmmException e = assertThrows(VmmException.class, () -> InitrdPlacement.place(ram - KERNEL_END + 1, KERNEL_END, ram));
        assertEquals(VmmException.Kind.INVALID_INPUT, e.kind());
        assertTrue(e.getMessage().contains("does not fit between the kernel's end 0x3A00000 and 0x8000000"), e.getMessage());
        assertTrue(e.getMessage().contains("1 MiB more guest RAM"), e.getMessage());
    }

    @Test
    void tooBigOrEmptyIsRefused() {
        VmmException big = assertThrows(VmmException.class, () -> InitrdPlacement.place(1L << 30, KERNEL_END, 128L << 20));
        assertTrue(big.getMessage().contains("initramfs of 1073741824 bytes does not fit"), big.getMessage());
        assertTrue(big.getMessage().contains("it needs 954 MiB more guest RAM"), big.getMessage());
        VmmException empty = assertThrows(VmmException.class, () -> InitrdPlacement.place(0, KERNEL_END, 128L << 20));
        assertTrue(empty.getMessage().contains("empty"), empty.getMessage());
    }

    @Test
    void aKernelEndingBelowOneMibStillKeepsItAboveTheBootStructures() {
        VmmException e = assertThrows(VmmException.class, () -> InitrdPlacement.place(0x200000, 0x1000, 0x200000));
        assertTrue(e.getMessage().contains("kernel's end 0x100000"), e.getMessage());
    }
}
