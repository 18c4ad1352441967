package dev.hostd.vmm.acpi;

/**
 * The 36-byte System Description Table header every table but the RSDP starts with (ACPI 6.5
 * §5.2.6), and the checksum rule: all bytes of a table sum to zero modulo 256.
 */
final class Sdt {
    static final int HEADER_SIZE = 36;
    static final int CHECKSUM_OFFSET = 9;
    static final String OEM_ID = "HOSTD";
    static final String OEM_TABLE_ID = "HOSTDVM";
    static final String CREATOR_ID = "HSTD";

    private Sdt() {}

    /** Header + body with the length and checksum filled in. */
    static byte[] table(String signature, int revision, byte[] body) {
        int length = HEADER_SIZE + body.length;
        byte[] t = new ByteWriter()
                .ascii(signature, 4)
                .u32(length)
                .u8(revision)
                .u8(0) // checksum, set below
                .ascii(OEM_ID, 6)
                .ascii(OEM_TABLE_ID, 8)
                .u32(1) // OEM revision
                .ascii(CREATOR_ID, 4)
                .u32(1) // creator revision
                .bytes(body)
                .toByteArray();
        t[CHECKSUM_OFFSET] = checksum(t, 0, t.length);
        return t;
    }

    /** The byte that makes {@code b[from..to)} sum to zero, given the checksum byte is still 0. */
    static byte checksum(byte[] b, int from, int to) {
        int sum = 0;
        for (int i = from; i < to; i++) {
            sum += b[i];
        }
        return (byte) -sum;
    }

    /** Sum of {@code b[from..to)} modulo 256: 0 for a valid table. */
    static int sum(byte[] b, int from, int to) {
        int sum = 0;
        for (int i = from; i < to; i++) {
            sum += b[i];
        }
        return sum & 0xFF;
    }
}
