package dev.hostd.vmm.acpi;

import java.util.List;

/** Extended System Description Table (ACPI 6.5 §5.2.8): 64-bit addresses of the other tables but the DSDT. */
final class Xsdt {
    private Xsdt() {}

    static byte[] build(List<Long> tableAddresses) {
        ByteWriter body = new ByteWriter();
        tableAddresses.forEach(body::u64);
        return Sdt.table("XSDT", 1, body.toByteArray());
    }

    static int size(int entries) {
        return Sdt.HEADER_SIZE + 8 * entries;
    }
}
