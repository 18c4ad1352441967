package dev.hostd.vmm.acpi;

/**
 * Resource descriptors for _CRS (ACPI 6.5 §6.4): the three a virtio-mmio device and a 16550 need,
 * and the ResourceTemplate buffer that holds them.
 */
public final class Resources {
    private Resources() {}

    /** Memory32Fixed(ReadWrite, base, length): large item 0x86. */
    public static byte[] memory32Fixed(long base, long length) {
        if (base < 0 || base > 0xFFFF_FFFFL || length <= 0 || length > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException(String.format(
                    "Memory32Fixed needs a 32-bit base and length, got base 0x%X length 0x%X", base, length));
        }
        return new ByteWriter().u8(0x86).u16(9).u8(1 /* read-write */).u32(base).u32(length).toByteArray();
    }

    /**
     * Interrupt(ResourceConsumer, Edge, ActiveHigh, Exclusive) {gsi}: the extended interrupt
     * descriptor, large item 0x89, one interrupt.
     */
    public static byte[] interrupt(int gsi) {
        if (gsi < 0) {
            throw new IllegalArgumentException("negative interrupt number " + gsi);
        }
        int flags = 0b0000_0011; // bit 0 consumer, bit 1 edge-triggered; active-high, exclusive
        return new ByteWriter().u8(0x89).u16(6).u8(flags).u8(1).u32(gsi).toByteArray();
    }

    /** IO(Decode16, base, base, 1, length): small item 0x47 for a fixed port range. */
    public static byte[] io(int base, int length) {
        if (base < 0 || base + length > 0x10000 || length <= 0 || length > 0xFF) {
            throw new IllegalArgumentException("invalid I/O port range 0x" + Integer.toHexString(base) + "+" + length);
        }
        return new ByteWriter().u8(0x47).u8(1 /* 16-bit decode */).u16(base).u16(base).u8(1).u8(length).toByteArray();
    }

    /** ResourceTemplate() {descriptors}: a Buffer ending with the End Tag (checksum 0 = not checked). */
    public static byte[] template(byte[]... descriptors) {
        return Aml.buffer(Aml.concat(Aml.concat(descriptors), new byte[] {0x79, 0x00}));
    }
}
