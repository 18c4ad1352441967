package dev.hostd.vmm.acpi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hostd.vmm.VmmException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The table set: signatures, lengths, checksums, the pointers between tables, and bad input. */
class AcpiTablesTest {
    static final List<MmioSlot> TWO = List.of(MmioSlot.standard(0), MmioSlot.standard(1));

    static ByteBuffer le(byte[] b) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    static String sig(byte[] b, int len) {
        return new String(b, 0, len, StandardCharsets.US_ASCII);
    }

    @Test
    void everyTableHasItsSignatureLengthAndAZeroChecksum() {
        AcpiLayout layout = AcpiTables.build(4, TWO, AcpiTables.BIOS_AREA);
        assertEquals(List.of("RSD PTR ", "XSDT", "FACP", "APIC", "DSDT"),
                layout.tables().stream().map(AcpiLayout.Table::signature).toList());
        for (AcpiLayout.Table t : layout.tables()) {
            byte[] b = t.bytes();
            assertEquals(0, t.address() % 16, t.signature() + " is 16-byte aligned");
            if (t.signature().equals("RSD PTR ")) {
                assertEquals("RSD PTR ", sig(b, 8));
                assertEquals(36, b.length);
                assertEquals(36, le(b).getInt(20));
                assertEquals(0, Sdt.sum(b, 0, 20), "RSDP checksum over the first 20 bytes");
                assertEquals(0, Sdt.sum(b, 0, 36), "RSDP extended checksum");
            } else {
                assertEquals(t.signature(), sig(b, 4));
                assertEquals(b.length, le(b).getInt(4), t.signature() + " length field");
                assertEquals(0, Sdt.sum(b, 0, b.length), t.signature() + " checksum");
            }
        }
    }

    @Test
    void tablesPointAtEachOther() {
        AcpiLayout layout = AcpiTables.build(2, TWO, AcpiTables.BIOS_AREA);
        assertEquals(AcpiTables.BIOS_AREA, layout.rsdpAddress());
        ByteBuffer rsdp = le(layout.table("RSD PTR ").bytes());
        assertEquals(2, rsdp.get(15), "RSDP revision 2");
        assertEquals(0, rsdp.getInt(16), "no RSDT");
        assertEquals(layout.table("XSDT").address(), rsdp.getLong(24));
        ByteBuffer xsdt = le(layout.table("XSDT").bytes());
        assertEquals(36 + 16, xsdt.capacity());
        assertEquals(layout.table("FACP").address(), xsdt.getLong(36));
        assertEquals(layout.table("APIC").address(), xsdt.getLong(44));
        ByteBuffer fadt = le(layout.table("FACP").bytes());
        assertEquals(276, fadt.capacity());
        assertEquals(6, fadt.get(8), "FADT revision");
        assertEquals(5, fadt.get(Fadt.MINOR_VERSION_OFFSET), "FADT minor version");
        assertEquals(Fadt.HW_REDUCED_ACPI, fadt.getInt(Fadt.FLAGS_OFFSET) & Fadt.HW_REDUCED_ACPI);
        assertEquals(layout.table("DSDT").address(), fadt.getInt(Fadt.DSDT_OFFSET) & 0xFFFF_FFFFL);
        assertEquals(layout.table("DSDT").address(), fadt.getLong(Fadt.X_DSDT_OFFSET));
        for (int off = 56; off < 88; off += 4) {
            assertEquals(0, fadt.getInt(off), "no PM/GPE block at FADT offset " + off);
        }
    }

    @Test
    void fadtNamesTheSleepRegistersAndTheDsdtHasS5() {
        AcpiLayout layout = AcpiTables.build(1, TWO, AcpiTables.BIOS_AREA);
        ByteBuffer fadt = le(layout.table("FACP").bytes());
        for (int[] reg : new int[][] {{Fadt.SLEEP_CONTROL_OFFSET, AcpiTables.SLEEP_CONTROL_PORT},
                {Fadt.SLEEP_STATUS_OFFSET, AcpiTables.SLEEP_STATUS_PORT}}) {
            int off = reg[0];
            assertEquals(Fadt.GAS_SYSTEM_IO, fadt.get(off), "space: I/O");
            assertEquals(8, fadt.get(off + 1), "8 bits wide");
            assertEquals(0, fadt.get(off + 2), "at bit 0");
            assertEquals(Fadt.GAS_BYTE_ACCESS, fadt.get(off + 3), "byte access");
            assertEquals(reg[1], fadt.getLong(off + 4), "port");
        }
        assertEquals(0, fadt.getInt(Fadt.FLAGS_OFFSET) & (1 << 10), "no RESET_REG_SUP: reset goes through the i8042");
        byte[] s5 = Aml.nameOf("\\_S5_", Aml.packageOf(Aml.integer(AcpiTables.S5_SLEEP_TYPE), Aml.integer(0)));
        byte[] dsdt = layout.table("DSDT").bytes();
        assertArrayEquals(s5, java.util.Arrays.copyOfRange(dsdt, 36, 36 + s5.length), "\\_S5 first in the DSDT's AML");
    }

    @Test
    void imageHoldsEveryTableAtItsOffset() {
        AcpiLayout layout = AcpiTables.build(1, TWO, 0x9_0000);
        byte[] image = layout.image();
        assertEquals(layout.end() - layout.rsdpAddress(), image.length);
        for (AcpiLayout.Table t : layout.tables()) {
            int off = (int) (t.address() - layout.rsdpAddress());
            byte[] copy = java.util.Arrays.copyOfRange(image, off, off + t.bytes().length);
            assertArrayEquals(t.bytes(), copy, t.signature());
        }
    }

    @Test
    void madtHasOneEnabledLocalApicPerVcpuAndOneIoapic() {
        for (int vcpus : new int[] {1, 3, 255}) {
            byte[] madt = AcpiTables.build(vcpus, List.of(), AcpiTables.BIOS_AREA).table("APIC").bytes();
            ByteBuffer b = le(madt);
            assertEquals(Madt.LOCAL_APIC_ADDRESS, b.getInt(36) & 0xFFFF_FFFFL);
            int lapics = 0, ioapics = 0, overrides = 0;
            for (int off = 44; off < madt.length; off += madt[off + 1]) {
                switch (madt[off]) {
                    case Madt.TYPE_LOCAL_APIC -> {
                        assertEquals(lapics, madt[off + 3] & 0xFF, "APIC IDs are the vCPU indexes in order");
                        assertEquals(1, b.getInt(off + 4), "enabled");
                        lapics++;
                    }
                    case Madt.TYPE_IOAPIC -> {
                        assertEquals(Madt.IOAPIC_ADDRESS, b.getInt(off + 4) & 0xFFFF_FFFFL);
                        ioapics++;
                    }
                    case Madt.TYPE_INTERRUPT_OVERRIDE -> {
                        assertEquals(0, madt[off + 3], "ISA IRQ 0");
                        assertEquals(2, b.getInt(off + 4), "to GSI 2");
                        overrides++;
                    }
                    default -> {}
                }
            }
            assertEquals(vcpus, lapics);
            assertEquals(1, ioapics);
            assertEquals(1, overrides);
        }
    }

    @Test
    void dsdtGrowsWithTheDevicesAndFitsTheBiosAreaWithEight() {
        int none = AcpiTables.build(1, List.of(), AcpiTables.BIOS_AREA).table("DSDT").bytes().length;
        int two = AcpiTables.build(1, TWO, AcpiTables.BIOS_AREA).table("DSDT").bytes().length;
        assertTrue(two > none);
        List<MmioSlot> eight = java.util.stream.IntStream.range(0, 8).mapToObj(MmioSlot::standard).toList();
        AcpiLayout full = AcpiTables.build(255, eight, AcpiTables.BIOS_AREA);
        assertTrue(full.end() <= AcpiTables.BIOS_AREA_END);
    }

    @Test
    void badInputIsRefusedWithTheReason() {
        assertInvalid("vCPU count 0", () -> AcpiTables.build(0, TWO, AcpiTables.BIOS_AREA));
        assertInvalid("vCPU count 256", () -> AcpiTables.build(256, TWO, AcpiTables.BIOS_AREA));
        assertInvalid("multiple of 16", () -> AcpiTables.build(1, TWO, AcpiTables.BIOS_AREA + 8));
        assertInvalid("IRQ 4", () -> AcpiTables.build(1, List.of(new MmioSlot(0xD000_0000L, 0x1000, 4)), 0xE0000));
        assertInvalid("IRQ 24", () -> AcpiTables.build(1, List.of(new MmioSlot(0xD000_0000L, 0x1000, 24)), 0xE0000));
        assertInvalid("used by another", () -> AcpiTables.build(1,
                List.of(new MmioSlot(0xD000_0000L, 0x1000, 5), new MmioSlot(0xD000_1000L, 0x1000, 5)), 0xE0000));
        assertInvalid("overlap", () -> AcpiTables.build(1,
                List.of(new MmioSlot(0xD000_0000L, 0x1000, 5), new MmioSlot(0xD000_0800L, 0x1000, 6)), 0xE0000));
        assertInvalid("within 4 GiB", () -> AcpiTables.build(1, List.of(new MmioSlot(0xFFFF_F800L, 0x1000, 5)), 0xE0000));
        assertInvalid("past the BIOS area", () -> AcpiTables.build(255, TWO, 0xFFF00));
    }

    static void assertInvalid(String expected, org.junit.jupiter.api.function.Executable call) {
        VmmException e = assertThrows(VmmException.class, call);
        assertEquals(VmmException.Kind.INVALID_INPUT, e.kind());
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}
