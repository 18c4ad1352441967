package dev.hostd.vmm.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Files whose checksums are right but whose content is wrong: a writer bug or a hostile template.
 * Each must be refused with a message that says what is wrong; none may make the reader allocate
 * more than the file holds.
 */
class SnapshotValidationTest {
    @TempDir
    Path dir;

    final MicrovmState state = Fixtures.state(5, 2, true, 2, Map.of("k", "v"));
    final VcpuState cpu0 = state.vcpus().get(0);

    @Test
    void wrongStructSizesAreRefused() throws IOException {
        String[][] cases = {
            {"REGS", "regs is 143 bytes, but struct kvm_regs is 144"},
            {"SREG", "sregs is 143 bytes, but struct kvm_sregs is 312"},
            {"XCRS", "xcrs is 143 bytes, but struct kvm_xcrs is 392"},
            {"DBGR", "debugregs is 143 bytes, but struct kvm_debugregs is 128"},
            {"LAPC", "lapic is 143 bytes, but struct kvm_lapic_state is 1024"},
            {"EVNT", "vcpuEvents is 143 bytes, but struct kvm_vcpu_events is 64"},
            {"XSAV", "xsave is 143 bytes; kvm_xsave needs at least 4096"},
            {"CPID", "cpuidEntries is 143 bytes, not a multiple of 40"},
            {"MSRS", "MSRS record is 143 bytes, not a multiple of 16"},
        };
        for (String[] c : cases) {
            List<byte[]> records = Raw.vcpuRecords(cpu0);
            records.replaceAll(r -> tagOf(r).equals(c[0]) ? Raw.rec(c[0], Raw.REQ, new byte[143]) : r);
            assertProblem(withVcpu0(records), c[1]);
        }
        assertProblem(withVcpu0(replace(Raw.vcpuRecords(cpu0), "XSAV", new byte[4098])), "a multiple of 4");
        assertProblem(withVcpu0(replace(Raw.vcpuRecords(cpu0), "XSAV", new byte[Limits.MAX_XSAVE_BYTES + 4])),
                "at most " + Limits.MAX_XSAVE_BYTES);
        assertProblem(withVcpu0(replace(Raw.vcpuRecords(cpu0), "CPID", new byte[257 * 40])), "up to 256 entries");

        List<byte[]> vm = Raw.sections(state);
        vm.set(2, Raw.rec("VM  ", Raw.REQ, Raw.rec("CLCK", Raw.REQ, new byte[47]), Raw.rec("PICM", Raw.REQ,
                state.vm().picMaster()), Raw.rec("PICS", Raw.REQ, state.vm().picSlave()), Raw.rec("IOAP", Raw.REQ,
                state.vm().ioapic()), Raw.rec("PIT2", Raw.REQ, new byte[112])));
        assertProblem(vm, "VM: clock is 47 bytes, but struct kvm_clock_data is 48");
    }

    @Test
    void theWriterRefusesWhatTheReaderWouldRefuse() {
        VcpuState shortRegs = new VcpuState(0, cpu0.cpuidEntries(), new byte[100], cpu0.sregs(), cpu0.xsave(),
                cpu0.xcrs(), cpu0.debugregs(), cpu0.lapic(), cpu0.msrIndices(), cpu0.msrValues(), cpu0.vcpuEvents(),
                0, 1);
        MicrovmState bad = new MicrovmState(state.machine(), state.memory(), state.vm(),
                List.of(shortRegs, state.vcpus().get(1)), state.devices(), state.metadata());
        Path f = dir.resolve("w.snap");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SnapshotFile.write(f, bad));
        assertTrue(e.getMessage().contains("vCPU 0: regs is 100 bytes, but struct kvm_regs is 144"), e.getMessage());
        assertTrue(Files.notExists(f));

        MicrovmState ownName = new MicrovmState(state.machine(), new MemoryState("w.snap", Fixtures.MEMORY_BYTES, 0),
                state.vm(), state.vcpus(), state.devices(), state.metadata());
        assertThrows(IllegalArgumentException.class, () -> SnapshotFile.write(f, ownName));

        MicrovmState surrogate = new MicrovmState(state.machine(), state.memory(), state.vm(), state.vcpus(),
                state.devices(), Map.of("k", "\ud800"));
        assertThrows(IllegalArgumentException.class, () -> SnapshotFile.write(f, surrogate));
    }

    @Test
    void irqchipPartsMustMatchTheMachine() throws IOException {
        List<byte[]> noLapic = Raw.vcpuRecords(cpu0);
        noLapic.removeIf(r -> tagOf(r).equals("LAPC"));
        assertProblem(withVcpu0(noLapic), "vCPU 0: lapic is missing but the machine has an in-kernel irqchip");

        MicrovmState plain = Fixtures.state(5, 1, false, 0, Map.of());
        List<byte[]> s = Raw.sections(plain);
        s.set(2, Raw.vm(state.vm()));
        assertProblem(s, "VM: picMaster is present but the machine has no in-kernel irqchip");
    }

    @Test
    void missingAndDuplicatedSectionsAreRefused() throws IOException {
        String[][] required = {{"MACH", "MACHINE"}, {"MEMF", "MEMORY"}, {"VM  ", "VM"}};
        for (String[] r : required) {
            List<byte[]> s = Raw.sections(state);
            s.removeIf(b -> tagOf(b).equals(r[0]));
            assertProblem(s, "required section " + r[1] + " is missing");
        }
        List<byte[]> dup = Raw.sections(state);
        dup.add(Raw.machine(state.machine()));
        assertProblem(dup, "MACHINE section at offset");
        assertProblem(dup, "this section may appear only once");

        List<byte[]> noClock = Raw.sections(state);
        noClock.set(2, Raw.rec("VM  ", Raw.REQ));
        assertProblem(noClock, "required record 'CLCK' is missing");

        List<byte[]> twice = Raw.vcpuRecords(cpu0);
        twice.add(Raw.rec("REGS", Raw.REQ, cpu0.regs()));
        assertProblem(withVcpu0(twice), "record 'REGS' appears twice");

        List<byte[]> noMetadata = Raw.sections(state);
        noMetadata.removeIf(b -> tagOf(b).equals("META"));
        assertEquals(Map.of(), SnapshotFile.read(write(Raw.file(Raw.cat(noMetadata)))).metadata(),
                "METADATA is optional");
    }

    @Test
    void vcpusMustBeZeroToNMinusOneAndMatchTheCount() throws IOException {
        VcpuState cpu1 = state.vcpus().get(1);
        List<byte[]> s = Raw.sections(state);
        s.remove(4);
        assertProblem(s, "there are 1 vCPUs but MACHINE says vcpuCount 2");

        List<byte[]> swapped = Raw.sections(state);
        swapped.set(3, Raw.sections(state).get(4));
        swapped.set(4, Raw.sections(state).get(3));
        assertProblem(swapped, "vCPU indices must be 0..1 in order, but position 0 holds index 1");

        VcpuState renumbered = new VcpuState(2, cpu1.cpuidEntries(), cpu1.regs(), cpu1.sregs(), cpu1.xsave(),
                cpu1.xcrs(), cpu1.debugregs(), cpu1.lapic(), cpu1.msrIndices(), cpu1.msrValues(), cpu1.vcpuEvents(),
                cpu1.mpState(), cpu1.tscKhz());
        List<byte[]> gap = Raw.sections(state);
        gap.set(4, Raw.vcpu(renumbered, Raw.vcpuRecords(renumbered)));
        assertProblem(gap, "position 1 holds index 2");

        List<byte[]> zero = Raw.sections(state);
        zero.set(0, Raw.machine(new MachineState(0, Fixtures.MEMORY_BYTES, true, "user-elf")));
        assertProblem(zero, "vcpuCount 0 is outside 1..4096");
    }

    @Test
    void devicesMustHaveUniqueNames() throws IOException {
        List<byte[]> s = Raw.sections(state);
        s.add(5, Raw.device(new DeviceState("dev0", "virtio-mmio/net", new byte[3])));
        assertProblem(s, "duplicate device name \"dev0\"");
    }

    @Test
    void theMemoryFileMustBeAPlainNameBesideTheStateFile() throws IOException {
        for (String name : new String[] {"../memory.bin", "sub/memory.bin", "/etc/passwd", "..", ".", "", "a\0b",
                "x".repeat(256)}) {
            List<byte[]> s = Raw.sections(state);
            s.set(1, Raw.memory(new MemoryState(name, Fixtures.MEMORY_BYTES, 0)));
            assertProblem(s, "MEMORY: fileName");
        }
        List<byte[]> own = Raw.sections(state);
        own.set(1, Raw.memory(new MemoryState("crafted.snap", Fixtures.MEMORY_BYTES, 0)));
        assertProblem(own, "MEMORY: fileName \"crafted.snap\" is the state file itself");
        List<byte[]> s = Raw.sections(state);
        s.set(1, Raw.memory(new MemoryState("memory.bin", Fixtures.MEMORY_BYTES + 4096, 0)));
        assertProblem(s, "differs from MACHINE memoryBytes");
    }

    @Test
    void lengthsArePolicedBeforeTheyAreTrusted() throws IOException {
        byte[] machine = Raw.machine(state.machine());
        List<byte[]> rest = Raw.sections(state).subList(1, Raw.sections(state).size());

        // A section that claims more than the body holds, a "negative" u64 length, and 2^63-1.
        for (long claim : new long[] {1 << 20, -1L, -16L, Long.MAX_VALUE}) {
            byte[] lying = machine.clone();
            System.arraycopy(Raw.u64(claim), 0, lying, 8, 8);
            assertProblem(cat(lying, rest), "runs past the end of body");
        }
        // A nested record claiming past its section.
        List<byte[]> records = Raw.vcpuRecords(cpu0);
        byte[] regs = records.get(1).clone();
        System.arraycopy(Raw.u64(1L << 40), 0, regs, 8, 8);
        records.set(1, regs);
        assertProblem(withVcpu0(records), "runs past the end of VCPU section");

        // Stray bytes too short for a section header.
        List<byte[]> stray = new ArrayList<>(Raw.sections(state));
        stray.add(new byte[5]);
        assertProblem(stray, "5 stray bytes");

        // A string length of 4 GiB and one past the section.
        List<byte[]> bigString = Raw.sections(state);
        bigString.set(0, Raw.rec("MACH", Raw.REQ, Raw.u32(2), Raw.u32(1), Raw.u64(Fixtures.MEMORY_BYTES), Raw.u32(-1)));
        assertProblem(bigString, "claims 4294967295 bytes, more than the limit");
        bigString.set(0, Raw.rec("MACH", Raw.REQ, Raw.u32(2), Raw.u32(1), Raw.u64(Fixtures.MEMORY_BYTES), Raw.u32(64),
                new byte[10]));
        assertProblem(bigString, "guestKind at offset");

        // A metadata count of 4 billion pairs with two real ones.
        List<byte[]> meta = Raw.sections(state);
        meta.set(meta.size() - 1, Raw.rec("META", 0, Raw.u32(-1), Raw.str("a"), Raw.str("b")));
        assertProblem(meta, "metadata key length");
    }

    @Test
    void aHeaderPromisingAnAbsurdBodyIsRefusedBeforeAllocating() throws IOException {
        byte[] body = Raw.cat(Raw.sections(state));
        for (long promised : new long[] {Limits.MAX_BODY_BYTES + 1, 1L << 40, -1L}) {
            Path f = write(Raw.file(1, 0, 0, promised, body));
            SnapshotFormatException e = assertThrows(SnapshotFormatException.class, () -> SnapshotFile.read(f));
            assertTrue(e.problem().contains("more than the limit of 67108864"), e.getMessage());
            assertThrows(SnapshotFormatException.class, () -> SnapshotFile.inspect(f));
        }
    }

    @Test
    void otherMalformedFieldsAreRefused() throws IOException {
        List<byte[]> machineFlags = Raw.sections(state);
        machineFlags.set(0, Raw.rec("MACH", Raw.REQ, Raw.u32(2), Raw.u32(3), Raw.u64(Fixtures.MEMORY_BYTES),
                Raw.str("user-elf")));
        assertProblem(machineFlags, "unknown machine flags 0x00000003");

        List<byte[]> trailing = Raw.sections(state);
        trailing.set(1, Raw.rec("MEMF", Raw.REQ, Raw.u64(Fixtures.MEMORY_BYTES), Raw.u32(0), Raw.str("m"),
                new byte[3]));
        assertProblem(trailing, "3 unexpected bytes");

        List<byte[]> badUtf8 = Raw.sections(state);
        badUtf8.set(0, Raw.rec("MACH", Raw.REQ, Raw.u32(2), Raw.u32(1), Raw.u64(Fixtures.MEMORY_BYTES), Raw.u32(2),
                new byte[] {(byte) 0xc3, (byte) 0x28}));
        assertProblem(badUtf8, "guestKind at offset");
        assertProblem(badUtf8, "is not valid UTF-8");

        List<byte[]> msrs = Raw.vcpuRecords(cpu0);
        msrs.replaceAll(r -> tagOf(r).equals("MSRS")
                ? Raw.rec("MSRS", Raw.REQ, Raw.u32(0x10), Raw.u32(1), Raw.u64(5)) : r);
        assertProblem(withVcpu0(msrs), "MSR 0x10 has a non-zero reserved field");

        List<byte[]> dupMsr = Raw.vcpuRecords(cpu0);
        dupMsr.replaceAll(r -> tagOf(r).equals("MSRS") ? Raw.rec("MSRS", Raw.REQ, Raw.u32(0x10), Raw.u32(0),
                Raw.u64(5), Raw.u32(0x10), Raw.u32(0), Raw.u64(6)) : r);
        assertProblem(withVcpu0(dupMsr), "MSR 0x10 appears twice");

        List<byte[]> dupKey = Raw.sections(state);
        dupKey.set(dupKey.size() - 1, Raw.rec("META", 0, Raw.u32(2), Raw.str("a"), Raw.str("1"), Raw.str("a"),
                Raw.str("2")));
        assertProblem(dupKey, "duplicate metadata key \"a\"");

        List<byte[]> oddMemory = Raw.sections(state);
        oddMemory.set(0, Raw.machine(new MachineState(2, 1000, true, "user-elf")));
        oddMemory.set(1, Raw.memory(new MemoryState("memory.bin", 1000, 0)));
        assertProblem(oddMemory, "memoryBytes 1000 is not a positive multiple of 4096");
    }

    @Test
    void randomGarbageWithValidChecksumsNeverEscapesAsAnotherException() throws IOException {
        Random r = new Random(1234);
        byte[] good = Raw.cat(Raw.sections(state));
        for (int i = 0; i < 2000; i++) {
            byte[] body = good.clone();
            for (int k = 0; k < 1 + r.nextInt(4); k++) {
                body[r.nextInt(body.length)] = (byte) r.nextInt();
            }
            if (r.nextInt(4) == 0) {
                body = java.util.Arrays.copyOf(body, r.nextInt(body.length));
            }
            Path f = write(Raw.file(body));
            try {
                SnapshotFile.read(f); // may succeed when only opaque bytes changed
                SnapshotFile.inspect(f);
            } catch (SnapshotFormatException expected) {
                assertTrue(expected.getMessage().contains(f.toString()));
            }
        }
    }

    // ---- helpers ----

    private static String tagOf(byte[] record) {
        return new String(record, 0, 4, java.nio.charset.StandardCharsets.US_ASCII);
    }

    private static List<byte[]> replace(List<byte[]> records, String tag, byte[] payload) {
        records.replaceAll(r -> tagOf(r).equals(tag) ? Raw.rec(tag, Raw.REQ, payload) : r);
        return records;
    }

    private List<byte[]> withVcpu0(List<byte[]> records) {
        List<byte[]> s = Raw.sections(state);
        s.set(3, Raw.vcpu(cpu0, records));
        return s;
    }

    private static List<byte[]> cat(byte[] first, List<byte[]> rest) {
        List<byte[]> out = new ArrayList<>();
        out.add(first);
        out.addAll(rest);
        return out;
    }

    private Path write(byte[] bytes) throws IOException {
        Path f = dir.resolve("crafted.snap");
        Files.write(f, bytes);
        return f;
    }

    private void assertProblem(List<byte[]> sections, String expected) throws IOException {
        Path f = write(Raw.file(Raw.cat(sections)));
        SnapshotFormatException e = assertThrows(SnapshotFormatException.class, () -> SnapshotFile.read(f),
                "expected: " + expected);
        assertTrue(e.getMessage().startsWith("snapshot " + f + ": "), e.getMessage());
        assertTrue(e.problem().contains(expected), "expected \"" + expected + "\" in: " + e.problem());
    }
}
