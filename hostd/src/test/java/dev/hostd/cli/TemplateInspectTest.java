package dev.hostd.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.hostd.vmm.snapshot.DeviceState;
import dev.hostd.vmm.snapshot.KvmAbi;
import dev.hostd.vmm.snapshot.MachineState;
import dev.hostd.vmm.snapshot.MemoryChecksum;
import dev.hostd.vmm.snapshot.MemoryState;
import dev.hostd.vmm.snapshot.MicrovmState;
import dev.hostd.vmm.snapshot.SnapshotFile;
import dev.hostd.vmm.snapshot.VcpuState;
import dev.hostd.vmm.snapshot.VmState;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code hostctl template inspect}: offline, on real state files written by {@link SnapshotFile}. */
class TemplateInspectTest {
    static final long MEMORY_BYTES = 2L << 20;

    @TempDir
    Path dir;
    Path template;

    record Result(int exit, String out, String err) {}

    static Result hostctl(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = Hostctl.run(args, out, err);
        return new Result(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static byte[] bytes(Random r, int n) {
        byte[] b = new byte[n];
        r.nextBytes(b);
        return b;
    }

    @BeforeEach
    void writeTemplate() throws IOException {
        template = Files.createDirectory(dir.resolve("fn-py"));
        Random r = new Random(42);
        byte[] memory = bytes(r, (int) MEMORY_BYTES);
        Files.write(template.resolve("memory"), memory);
        int crc = MemoryChecksum.crc32c(template.resolve("memory"));
        VcpuState cpu = new VcpuState(0, bytes(r, 2 * KvmAbi.KVM_CPUID_ENTRY2_SIZE), bytes(r, KvmAbi.KVM_REGS_SIZE),
                bytes(r, KvmAbi.KVM_SREGS_SIZE), bytes(r, KvmAbi.KVM_XSAVE_SIZE), bytes(r, KvmAbi.KVM_XCRS_SIZE),
                bytes(r, KvmAbi.KVM_DEBUGREGS_SIZE), null, new int[] {0xc0000080}, new long[] {1L},
                bytes(r, KvmAbi.KVM_VCPU_EVENTS_SIZE), 0, 2_400_000L);
        MicrovmState state = new MicrovmState(new MachineState(1, MEMORY_BYTES, false, "user-elf"),
                new MemoryState("memory", MEMORY_BYTES, crc),
                new VmState(bytes(r, KvmAbi.KVM_CLOCK_DATA_SIZE), null, null, null, null), List.of(cpu),
                List.of(new DeviceState("console", "8250", bytes(r, 16)),
                        new DeviceState("vsock0", "virtio-mmio/vsock", bytes(r, 100))),
                Map.of("template", "fn-py"));
        SnapshotFile.write(template.resolve("state"), state);
    }

    @Test
    void goodTemplateIsDescribedAndExit0() {
        Result r = hostctl("template", "inspect", template.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("format:       1.0"), r.out());
        assertTrue(r.out().matches("(?s).*body: +\\d+ bytes, CRC32C 0x[0-9a-f]{8} \\(valid\\).*"), r.out());
        assertTrue(r.out().contains("machine:      1 vCPU, 2.0 MiB, irqchip no, guest user-elf"), r.out());
        assertTrue(r.out().contains("present, size matches"), r.out());
        for (String section : List.of("MACHINE", "MEMORY", "VM", "VCPU", "DEVICE", "METADATA")) {
            assertTrue(r.out().contains("\n" + section + " "), section + " in\n" + r.out());
        }
        assertTrue(r.out().contains("vsock0   virtio-mmio/vsock          100"), r.out());
        assertTrue(r.out().contains("template  fn-py"), r.out());
        assertTrue(r.out().endsWith("\nok\n"), r.out());
        assertEquals("", r.err());
    }

    @Test
    void stateFileItselfAndJsonAndMemoryCheck() throws IOException {
        Result r = hostctl("template", "inspect", "--json", "--check-memory", template.resolve("state").toString());
        assertEquals(0, r.exit(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertTrue(j.get("ok").asBoolean());
        assertTrue(j.get("checksumValid").asBoolean());
        assertEquals("1.0", j.get("formatVersion").asText());
        assertEquals(1, j.get("machine").get("vcpus").asInt());
        assertEquals("present, size and CRC32C match", j.get("memory").get("check").asText());
        assertEquals(2, j.get("devices").size());
        assertEquals("fn-py", j.get("metadata").get("template").asText());
        assertEquals("MACHINE", j.get("sections").get(0).get("name").asText());
    }

    @Test
    void flippedStateByteIsExit7WithTheSectionsThatCouldBeRead() throws IOException {
        Path state = template.resolve("state");
        byte[] b = Files.readAllBytes(state);
        b[b.length - 3] ^= 0x40;
        Files.write(state, b);
        Result r = hostctl("template", "inspect", template.toString());
        assertEquals(7, r.exit(), r.out());
        assertTrue(r.out().contains("(INVALID)"), r.out());
        assertTrue(r.err().contains("body checksum mismatch"), r.err());
        assertFalse(r.out().contains("\nok\n"));
    }

    @Test
    void changedMemoryIsExit7OnlyWithCheckMemory() throws IOException {
        Path memory = template.resolve("memory");
        byte[] b = Files.readAllBytes(memory);
        b[12345] ^= 1;
        Files.write(memory, b);
        assertEquals(0, hostctl("template", "inspect", template.toString()).exit(), "size still matches");
        Result r = hostctl("template", "inspect", "--check-memory", template.toString());
        assertEquals(7, r.exit());
        assertTrue(r.err().contains("CRC32C"), r.err());

        Files.delete(memory);
        Result missing = hostctl("template", "inspect", template.toString());
        assertEquals(7, missing.exit());
        assertTrue(missing.err().contains("memory file " + memory + " is missing"), missing.err());
    }

    @Test
    void notASnapshotIsExit7AndMissingIsExit2() throws IOException {
        Path junk = Files.writeString(dir.resolve("junk"), "hello, not a snapshot");
        Result r = hostctl("template", "inspect", junk.toString());
        assertEquals(7, r.exit());
        assertTrue(r.err().contains("not a hostd snapshot"), r.err());

        Result missing = hostctl("template", "inspect", dir.resolve("nope").toString());
        assertEquals(2, missing.exit());
        assertTrue(missing.err().contains(dir.resolve("nope").toString()), missing.err());
    }

    @Test
    void inspectNeedsNoDaemon() {
        Result r = hostctl("--socket", dir.resolve("no.sock").toString(), "template", "inspect", template.toString());
        assertEquals(0, r.exit(), r.err());
    }
}
