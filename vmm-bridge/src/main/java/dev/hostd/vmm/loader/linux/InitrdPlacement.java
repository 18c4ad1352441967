package dev.hostd.vmm.loader.linux;

import dev.hostd.vmm.VmmException;

/**
 * Where a Linux guest's initramfs goes: as high as it fits, page-aligned, below the top of the
 * usable RAM and {@link LinuxLayout#INITRD_ADDR_MAX} (as QEMU and Firecracker place it), so the
 * kernel's own decompression and early allocations above its image keep the room between. Never
 * below the kernel's end, and so never over the boot structures and ACPI tables below 1 MiB.
 */
public final class InitrdPlacement {
    static final long PAGE = 0x1000;

    private InitrdPlacement() {}

    /**
     * @param size      the initramfs's size in bytes
     * @param kernelEnd first address past the kernel's loaded segments
     * @param ramTop    first address past the RAM below the MMIO hole
     * @return the guest-physical address of the initramfs
     */
    public static long place(long size, long kernelEnd, long ramTop) {
        if (size <= 0) {
            throw invalid("the initramfs is empty");
        }
        long top = Math.min(ramTop, LinuxLayout.INITRD_ADDR_MAX + 1);
        long floor = Math.max(alignUp(kernelEnd), E820Map.HIGH_RAM_START);
        long address = (top - size) & -PAGE;
        if (size > top || address < floor) {
            throw invalid(String.format("the initramfs of %d bytes does not fit between the kernel's end 0x%X and 0x%X"
                    + " (top of RAM or initrd_addr_max); it needs %d MiB more guest RAM", size, floor, top,
                    (floor + alignUp(size) - top + (1 << 20) - 1) >> 20));
        }
        return address;
    }

    private static long alignUp(long v) {
        return (v + PAGE - 1) & -PAGE;
    }

    private static VmmException invalid(String message) {
        return new VmmException(VmmException.Kind.INVALID_INPUT, "place initramfs", message);
    }
}
