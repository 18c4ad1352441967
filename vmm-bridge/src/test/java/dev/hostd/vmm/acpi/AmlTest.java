package dev.hostd.vmm.acpi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/**
 * The AML encoder against byte vectors worked out by hand from the rules of ACPI 6.5 §20.2 (the
 * same bytes iasl emits for these terms).
 */
class AmlTest {
    static byte[] hex(String s) {
        return HexFormat.of().parseHex(s.replace(" ", ""));
    }

    @Test
    void pkgLengthOneByteFormHoldsUpTo63() {
        // §20.2.4: bits 7-6 = 0, bits 5-0 = the length, which counts the PkgLength byte itself
        assertArrayEquals(hex("01"), Aml.pkgLength(0));
        assertArrayEquals(hex("06"), Aml.pkgLength(5));
        assertArrayEquals(hex("3F"), Aml.pkgLength(62));
    }

    @Test
    void pkgLengthTwoByteForm() {
        // 63 content bytes + 2 = 65 = 0x041: lead 0x40 | low nibble 1, then 0x04
        assertArrayEquals(hex("41 04"), Aml.pkgLength(63));
        // largest 2-byte form: 0xFFF
        assertArrayEquals(hex("4F FF"), Aml.pkgLength(0xFFF - 2));
    }

    @Test
    void pkgLengthThreeByteForm() {
        // 0x1001: lead 0x80 | 1, then 0x00, 0x01
        assertArrayEquals(hex("81 00 01"), Aml.pkgLength(0x1001 - 3));
        assertArrayEquals(hex("8F FF FF"), Aml.pkgLength(0xFFFFF - 3));
    }

    @Test
    void pkgLengthFourByteForm() {
        assertArrayEquals(hex("C1 00 00 01"), Aml.pkgLength(0x100001 - 4));
        assertArrayEquals(hex("CF FF FF FF"), Aml.pkgLength(Aml.MAX_PKG_LENGTH - 4));
        assertThrows(IllegalArgumentException.class, () -> Aml.pkgLength(Aml.MAX_PKG_LENGTH - 3));
        assertThrows(IllegalArgumentException.class, () -> Aml.pkgLength(-1));
    }

    @Test
    void integersUseTheShortestConstant() {
        assertArrayEquals(hex("00"), Aml.integer(0));
        assertArrayEquals(hex("01"), Aml.integer(1));
        assertArrayEquals(hex("0A 04"), Aml.integer(4));
        assertArrayEquals(hex("0B F8 03"), Aml.integer(0x3F8));
        assertArrayEquals(hex("0C 00 00 00 D0"), Aml.integer(0xD000_0000L));
        assertArrayEquals(hex("0E 00 00 00 00 01 00 00 00"), Aml.integer(1L << 32));
    }

    @Test
    void namesStringsAndBuffers() {
        assertArrayEquals(hex("5C 5F 53 42 5F"), Aml.name("\\_SB_"));
        assertArrayEquals(hex("5F 53 42 5F"), Aml.name("_SB"), "short segments are padded with _");
        assertArrayEquals(hex("2E 5F 53 42 5F 43 4F 4D 31"), Aml.name("_SB_.COM1"));
        assertArrayEquals(hex("0D 4C 4E 52 4F 30 30 30 35 00"), Aml.string("LNRO0005"));
        // Buffer(2) {0x79, 0x00}: 0x11, PkgLength 4, BytePrefix 2, bytes
        assertArrayEquals(hex("11 05 0A 02 79 00"), Aml.buffer(hex("79 00")));
        assertThrows(IllegalArgumentException.class, () -> Aml.name("toolong"));
        assertThrows(IllegalArgumentException.class, () -> Aml.name("1ABC"));
    }

    @Test
    void scopeDeviceAndName() {
        assertArrayEquals(hex("10 06 5C 5F 53 42 5F"), Aml.scope("\\_SB_"));
        // Device(COM1) { Name(_UID, Zero) }: 5B 82, PkgLength 11 (10 content bytes + itself), COM1, 08 _UID 00
        assertArrayEquals(hex("5B 82 0B 43 4F 4D 31 08 5F 55 49 44 00"),
                Aml.device("COM1", Aml.nameOf("_UID", Aml.integer(0))));
    }

    @Test
    void packagesCountTheirElements() {
        // Name(\_S5, Package(2) {5, Zero}): 08 \_S5_ 12, PkgLength 5 (4 content bytes + itself), NumElements 2, 0A 05, 00
        assertArrayEquals(hex("08 5C 5F 53 35 5F 12 05 02 0A 05 00"),
                Aml.nameOf("\\_S5_", Aml.packageOf(Aml.integer(5), Aml.integer(0))));
        assertArrayEquals(hex("12 02 00"), Aml.packageOf());
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> Aml.packageOf(new byte[256][]));
    }

    @Test
    void eisaIdMatchesTheSpecExamples() {
        assertEquals(0x0105D041L, Aml.eisaId("PNP0501"));
        assertEquals(0x090CD041L, Aml.eisaId("PNP0C09")); // the embedded controller example in the spec
        assertThrows(IllegalArgumentException.class, () -> Aml.eisaId("pnp0501"));
    }

    @Test
    void resourceDescriptors() {
        assertArrayEquals(hex("86 09 00 01 00 00 00 D0 00 10 00 00"), Resources.memory32Fixed(0xD000_0000L, 0x1000));
        assertArrayEquals(hex("89 06 00 03 01 05 00 00 00"), Resources.interrupt(5));
        assertArrayEquals(hex("47 01 F8 03 F8 03 01 08"), Resources.io(0x3F8, 8));
        assertThrows(IllegalArgumentException.class, () -> Resources.memory32Fixed(1L << 32, 0x1000));
    }
}
