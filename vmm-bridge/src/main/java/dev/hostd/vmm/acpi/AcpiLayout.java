package dev.hostd.vmm.acpi;

import java.util.List;

/**
 * Where each ACPI table goes in guest memory and its bytes, in address order starting with the
 * RSDP. The tables lie in {@code [rsdpAddress, end)}; {@link #image()} is that range as one array
 * (gaps between tables are zero) for a loader to copy in one go.
 */
public record AcpiLayout(List<Table> tables) {
    /** One table: its signature ("RSD PTR ", "XSDT", "FACP", "APIC", "DSDT"), address and bytes. */
    public record Table(String signature, long address, byte[] bytes) {
        public long end() {
            return address + bytes.length;
        }
    }

    public AcpiLayout {
        tables = List.copyOf(tables);
    }

    public long rsdpAddress() {
        return tables.getFirst().address();
    }

    public long end() {
        return tables.getLast().end();
    }

    public Table table(String signature) {
        return tables.stream().filter(t -> t.signature().equals(signature)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no ACPI table " + signature));
    }

    public byte[] image() {
        byte[] image = new byte[Math.toIntExact(end() - rsdpAddress())];
        for (Table t : tables) {
            System.arraycopy(t.bytes(), 0, image, (int) (t.address() - rsdpAddress()), t.bytes().length);
        }
        return image;
    }
}
