package dev.hostd.vmm.acpi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each table through ACPICA ({@code iasl}, Debian acpica-tools): {@code iasl -d} must decode it
 * without errors or checksum complaints to what we built, and compiling that decoded source again
 * ({@code iasl -oa}, no optimizations) must give back our bytes. iasl (20200925) refuses to
 * disassemble a binary RSDP (its header check wants a 4-character signature), so the RSDP is
 * instead compiled by iasl from a data-table source with our field values and compared.
 */
class IaslRoundTripTest {
    static final int VCPUS = 3;
    static final List<MmioSlot> SLOTS = IntStream.range(0, 3).mapToObj(MmioSlot::standard).toList();
    static String iasl;

    @TempDir
    Path dir;

    AcpiLayout layout;

    @BeforeAll
    static void findIasl() {
        iasl = onPath("iasl");
    }

    @BeforeEach
    void build() {
        assumeTrue(iasl != null, "iasl is not installed (Debian package acpica-tools, installed by scripts/setup)");
        layout = AcpiTables.build(VCPUS, SLOTS, AcpiTables.BIOS_AREA);
    }

    @Test
    void dsdtDecodesToTheVirtioDevicesAndTheSerialPort() throws Exception {
        String dsl = disassemble("DSDT");
        assertEquals(SLOTS.size(), count(dsl, "Name (_HID, \"LNRO0005\")"), dsl);
        for (int i = 0; i < SLOTS.size(); i++) {
            MmioSlot s = SLOTS.get(i);
            String device = section(dsl, String.format("Device (VR%02d)", i));
            assertTrue(device.contains(String.format("0x%08X,         // Address Base", s.base())), device);
            assertTrue(device.contains(String.format("0x%08X,         // Address Length", s.size())), device);
            assertTrue(device.contains(String.format("0x%08X,", s.irq())), device);
            assertTrue(device.contains("Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive"), device);
        }
        String com1 = section(dsl, "Device (COM1)");
        assertTrue(com1.contains("EisaId (\"PNP0501\")"), com1);
        assertTrue(com1.contains("0x03F8,             // Range Minimum"), com1);
        assertTrue(com1.contains("0x08,               // Length"), com1);
        assertTrue(com1.contains("0x00000004,"), com1);
    }

    @Test
    void dsdtDecodesToTheS5PackageAtTheRoot() throws Exception {
        String dsl = disassemble("DSDT");
        // Name (\_S5, Package (0x02) { <SLP_TYPa>, Zero }) at the root, before Scope (\_SB)
        String s5 = "\n    Name (\\_S5, Package (0x02)";
        int at = dsl.indexOf(s5);
        assertTrue(at >= 0, dsl);
        String body = dsl.substring(dsl.indexOf('{', at), dsl.indexOf("})", at)).replaceAll("\\s+", "");
        assertEquals(String.format("{0x%02X,Zero", AcpiTables.S5_SLEEP_TYPE), body, dsl);
        assertTrue(at < dsl.indexOf("Scope (\\_SB)"), dsl);
    }

    @Test
    void madtDecodesToOneLocalApicPerVcpuAndTheIoapic() throws Exception {
        String dsl = disassemble("APIC");
        assertEquals(VCPUS, count(dsl, "[Processor Local APIC]"), dsl);
        for (int i = 0; i < VCPUS; i++) {
            assertTrue(dsl.contains(String.format("Local Apic ID : %02X", i)), dsl);
        }
        assertEquals(1, count(dsl, "[I/O APIC]"), dsl);
        assertTrue(dsl.contains("Address : FEC00000"), dsl);
        assertEquals(1, count(dsl, "[Interrupt Source Override]"), dsl);
        assertTrue(dsl.contains("Local Apic Address : FEE00000"), dsl);
    }

    @Test
    void fadtDecodesAsHardwareReducedWithTheDsdtAddress() throws Exception {
        String dsl = disassemble("FACP");
        long dsdt = layout.table("DSDT").address();
        assertTrue(dsl.contains("Revision : 06"), dsl);
        assertTrue(dsl.contains("FADT Minor Revision : 05"), dsl);
        assertTrue(dsl.contains("Hardware Reduced (V5) : 1"), dsl);
        assertTrue(dsl.contains(String.format("DSDT Address : %08X", dsdt)), dsl);
        assertTrue(dsl.contains(String.format("DSDT Address : %016X", dsdt)), dsl);
    }

    @Test
    void fadtDecodesToTheSleepRegistersAsByteWideIoPorts() throws Exception {
        String dsl = disassemble("FACP");
        assertEquals(List.of(new Gas("01 [SystemIO]", "08", "00", "01 [Byte Access:8]", AcpiTables.SLEEP_CONTROL_PORT),
                new Gas("01 [SystemIO]", "08", "00", "01 [Byte Access:8]", AcpiTables.SLEEP_STATUS_PORT)),
                List.of(gas(dsl, "Sleep Control Register"), gas(dsl, "Sleep Status Register")), dsl);
        assertTrue(dsl.contains("Reset Register Supported (V2) : 0"), "reset goes through the i8042, not a reset register:\n" + dsl);
    }

    /** A Generic Address Structure as iasl prints it. */
    record Gas(String spaceId, String bitWidth, String bitOffset, String accessWidth, long address) {}

    private static Gas gas(String dsl, String name) {
        Matcher m = Pattern.compile(Pattern.quote(name) + " : \\[Generic Address Structure\\]\\n"
                + ".*Space ID : ([^\\n]+)\\n.*Bit Width : (\\S+)\\n.*Bit Offset : (\\S+)\\n"
                + ".*Encoded Access Width : ([^\\n]+)\\n.*Address : ([0-9A-F]{16})\\n").matcher(dsl);
        assertTrue(m.find(), name + " not decoded:\n" + dsl);
        return new Gas(m.group(1).strip(), m.group(2), m.group(3), m.group(4).strip(), Long.parseLong(m.group(5), 16));
    }

    @Test
    void xsdtDecodesToTheFadtAndMadtAddresses() throws Exception {
        String dsl = disassemble("XSDT");
        assertTrue(dsl.contains(String.format("ACPI Table Address   0 : %016X", layout.table("FACP").address())), dsl);
        assertTrue(dsl.contains(String.format("ACPI Table Address   1 : %016X", layout.table("APIC").address())), dsl);
    }

    @Test
    void everyDecodedTableCompilesBackToOurBytes() throws Exception {
        for (String signature : List.of("XSDT", "FACP", "APIC", "DSDT")) {
            String dsl = disassemble(signature);
            byte[] ours = layout.table(signature).bytes();
            byte[] theirs = compile(signature.toLowerCase() + "-again", dsl);
            assertEquals(ours.length, theirs.length, signature + " length");
            // the header differs only in the compiler ID/revision (iasl writes its own) and so the checksum
            assertArrayEquals(Arrays.copyOfRange(ours, 0, 9), Arrays.copyOfRange(theirs, 0, 9), signature);
            assertArrayEquals(Arrays.copyOfRange(ours, 10, 28), Arrays.copyOfRange(theirs, 10, 28), signature);
            assertArrayEquals(Arrays.copyOfRange(ours, 36, ours.length), Arrays.copyOfRange(theirs, 36, theirs.length),
                    signature + " body");
        }
    }

    @Test
    void rsdpEqualsWhatIaslCompilesFromTheSameFields() throws Exception {
        long xsdt = layout.table("XSDT").address();
        // iasl's data-table syntax (as `iasl -T RSDP` prints it); iasl computes both checksums
        String source = String.join("\n",
                "[0008]                          Signature : \"RSD PTR \"",
                "[0001]                           Checksum : 00",
                "[0006]                             Oem ID : \"HOSTD \"",
                "[0001]                           Revision : 02",
                "[0004]                       RSDT Address : 00000000",
                "[0004]                             Length : 00000024",
                String.format("[0008]                       XSDT Address : %016X", xsdt),
                "[0001]                  Extended Checksum : 00",
                "[0003]                           Reserved : 000000",
                "");
        assertArrayEquals(compile("rsdp", source), layout.table("RSD PTR ").bytes());
    }

    /** Compiles ASL or a data-table source with {@code iasl -oa}, returns the .aml bytes. */
    private byte[] compile(String name, String source) throws IOException, InterruptedException {
        Files.writeString(dir.resolve(name + ".dsl"), source);
        String out = run(iasl, "-oa", name + ".dsl");
        assertTrue(out.contains("0 Errors, 0 Warnings"), out);
        return Files.readAllBytes(dir.resolve(name + ".aml"));
    }

    private String run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "iasl did not finish"); // a hang guard
        assertEquals(0, p.exitValue(), out);
        return out;
    }

    /** Writes the table, runs {@code iasl -d}, checks it reported no problem, returns the .dsl text. */
    private String disassemble(String signature) throws IOException, InterruptedException {
        Path dat = dir.resolve(signature.toLowerCase() + ".dat");
        Files.write(dat, layout.table(signature).bytes());
        String out = run(iasl, "-d", dat.getFileName().toString());
        assertFalse(out.toLowerCase().contains("error"), out);
        assertFalse(out.toLowerCase().contains("warning"), out);
        String dsl = Files.readString(dir.resolve(signature.toLowerCase() + ".dsl"));
        assertTrue(dsl.contains("\"" + signature + "\""), "decoded signature " + signature + ":\n" + dsl);
        assertFalse(dsl.contains("Incorrect checksum"), dsl);
        assertFalse(dsl.contains("****"), "iasl flags a malformed structure:\n" + dsl);
        return dsl;
    }

    /** The text from {@code start} to the next closing brace at the same indentation. */
    private static String section(String dsl, String start) {
        int from = dsl.indexOf(start);
        assertTrue(from >= 0, start + " not found in:\n" + dsl);
        int lineStart = dsl.lastIndexOf('\n', from) + 1;
        String indent = dsl.substring(lineStart, from);
        int to = dsl.indexOf("\n" + indent + "}", from);
        return dsl.substring(from, to < 0 ? dsl.length() : to);
    }

    private static int count(String text, String what) {
        Matcher m = Pattern.compile(Pattern.quote(what)).matcher(text);
        int n = 0;
        while (m.find()) {
            n++;
        }
        return n;
    }

    private static String onPath(String program) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            Path p = Path.of(d, program);
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        return null;
    }
}
