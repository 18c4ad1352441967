package dev.hostd.vmm.acpi;

/**
 * Root System Description Pointer, revision 2 (ACPI 6.5 §5.2.5.3): 36 bytes pointing at the XSDT.
 * No RSDT: a revision-2 RSDP with an XSDT address is all a 64-bit guest reads.
 */
final class Rsdp {
    static final int SIZE = 36;
    static final int CHECKSUM_OFFSET = 8, EXTENDED_CHECKSUM_OFFSET = 32;
    /** The first checksum covers the ACPI 1.0 part: bytes 0..19. */
    static final int V1_SIZE = 20;

    private Rsdp() {}

    static byte[] build(long xsdtAddress) {
        byte[] b = new ByteWriter()
                .ascii("RSD PTR ", 8)
                .u8(0) // checksum
                .ascii(Sdt.OEM_ID, 6)
                .u8(2) // revision: ACPI 2.0+
                .u32(0) // RsdtAddress: none
                .u32(SIZE)
                .u64(xsdtAddress)
                .u8(0) // extended checksum
                .zeros(3)
                .toByteArray();
        b[CHECKSUM_OFFSET] = Sdt.checksum(b, 0, V1_SIZE);
        b[EXTENDED_CHECKSUM_OFFSET] = Sdt.checksum(b, 0, SIZE);
        return b;
    }
}
