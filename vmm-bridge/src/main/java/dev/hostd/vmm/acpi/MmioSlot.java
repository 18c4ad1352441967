package dev.hostd.vmm.acpi;

import dev.hostd.vmm.loader.GuestLayout;

/**
 * One virtio-mmio device as the guest sees it in the DSDT: an {@code LNRO0005} device with a
 * register window and an IOAPIC interrupt line.
 *
 * @param base guest-physical address of the 4 KiB register window
 * @param size size of the window in bytes
 * @param irq  IOAPIC input (GSI) the device raises, 0..23
 */
public record MmioSlot(long base, long size, int irq) {
    /** First GSI for virtio-mmio devices: 0-4 are the PIT, keyboard, cascade, COM2, COM1 (as Firecracker). */
    public static final int FIRST_IRQ = 5;

    /** Slot {@code n} of docs/guest-abi.md: {@code 0xD0000000 + n·0x1000}, 4 KiB, GSI {@code 5 + n}. */
    public static MmioSlot standard(int n) {
        return new MmioSlot(GuestLayout.mmioBase(n), GuestLayout.MMIO_DEVICE_SIZE, FIRST_IRQ + n);
    }
}
