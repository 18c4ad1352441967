package dev.hostd.vmm.snapshot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SnapshotRoundTripTest {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "irqchip={0}")
    @ValueSource(booleans = {true, false})
    void everyByteSurvivesAWriteAndARead(boolean irqchip) throws IOException {
        MicrovmState in = Fixtures.state(42, 4, irqchip, 3, Fixtures.unicodeMetadata());
        Path file = dir.resolve("vm.snap");
        SnapshotFile.write(file, in);
        MicrovmState out = SnapshotFile.read(file);

        assertEquals(in.machine(), out.machine());
        assertEquals(in.memory(), out.memory());
        assertVmEquals(in.vm(), out.vm());
        assertEquals(in.vcpus().size(), out.vcpus().size());
        for (int i = 0; i < in.vcpus().size(); i++) {
            assertVcpuEquals(in.vcpus().get(i), out.vcpus().get(i));
        }
        assertEquals(in.devices().size(), out.devices().size());
        for (int i = 0; i < in.devices().size(); i++) {
            DeviceState a = in.devices().get(i), b = out.devices().get(i);
            assertEquals(a.name(), b.name());
            assertEquals(a.kind(), b.kind());
            assertArrayEquals(a.data(), b.data(), "device " + a.name());
        }
        assertEquals(List.copyOf(in.metadata().entrySet()), List.copyOf(out.metadata().entrySet()),
                "metadata, in order");
        assertEquals(in, out, "records compare arrays by content");
    }

    @Test
    void withoutIrqchipTheIrqchipPartsStayNull() throws IOException {
        Path file = dir.resolve("vm.snap");
        SnapshotFile.write(file, Fixtures.state(1, 2, false, 0, Map.of()));
        MicrovmState out = SnapshotFile.read(file);
        assertNull(out.vm().picMaster());
        assertNull(out.vm().picSlave());
        assertNull(out.vm().ioapic());
        assertNull(out.vm().pit2());
        assertNull(out.vcpus().get(0).lapic());
        assertNull(out.vcpus().get(1).lapic());
        assertEquals(Map.of(), out.metadata());
        assertEquals(List.of(), out.devices());
    }

    @Test
    void theFileIsExactlyWhatTheFormatDocumentDescribes() throws IOException {
        // Raw is written from docs/snapshot-format.md independently of StateEncoder.
        for (boolean irqchip : new boolean[] {true, false}) {
            MicrovmState s = Fixtures.state(9, 3, irqchip, 2, Fixtures.unicodeMetadata());
            Path file = dir.resolve("doc-" + irqchip + ".snap");
            SnapshotFile.write(file, s);
            assertArrayEquals(Raw.file(Raw.cat(Raw.sections(s))), Files.readAllBytes(file));
        }
    }

    @Test
    void writingIsDeterministic() throws IOException {
        MicrovmState s = Fixtures.state(3, 2, true, 2, Fixtures.unicodeMetadata());
        SnapshotFile.write(dir.resolve("a"), s);
        SnapshotFile.write(dir.resolve("b"), s);
        assertArrayEquals(Files.readAllBytes(dir.resolve("a")), Files.readAllBytes(dir.resolve("b")));
    }

    @Test
    void recordsCopyTheirArrays() {
        byte[] regs = new byte[KvmAbi.KVM_REGS_SIZE];
        VcpuState v = Fixtures.vcpu(new java.util.Random(1), 0, false, KvmAbi.KVM_XSAVE_SIZE, 1);
        VcpuState w = new VcpuState(0, v.cpuidEntries(), regs, v.sregs(), v.xsave(), v.xcrs(), v.debugregs(),
                null, v.msrIndices(), v.msrValues(), v.vcpuEvents(), 0, 1);
        regs[0] = 1;
        assertEquals(0, w.regs()[0], "caller's array changed after construction");
        w.regs()[1] = 1;
        assertEquals(0, w.regs()[1], "accessor handed out the internal array");
        assertNotSame(w.regs(), w.regs());
    }

    static void assertVmEquals(VmState a, VmState b) {
        assertArrayEquals(a.clock(), b.clock(), "clock");
        assertArrayEquals(a.picMaster(), b.picMaster(), "picMaster");
        assertArrayEquals(a.picSlave(), b.picSlave(), "picSlave");
        assertArrayEquals(a.ioapic(), b.ioapic(), "ioapic");
        assertArrayEquals(a.pit2(), b.pit2(), "pit2");
    }

    static void assertVcpuEquals(VcpuState a, VcpuState b) {
        String w = "vCPU " + a.index() + " ";
        assertEquals(a.index(), b.index());
        assertArrayEquals(a.cpuidEntries(), b.cpuidEntries(), w + "cpuid");
        assertArrayEquals(a.regs(), b.regs(), w + "regs");
        assertArrayEquals(a.sregs(), b.sregs(), w + "sregs");
        assertArrayEquals(a.xsave(), b.xsave(), w + "xsave");
        assertArrayEquals(a.xcrs(), b.xcrs(), w + "xcrs");
        assertArrayEquals(a.debugregs(), b.debugregs(), w + "debugregs");
        assertArrayEquals(a.lapic(), b.lapic(), w + "lapic");
        assertArrayEquals(a.msrIndices(), b.msrIndices(), w + "msr indices");
        assertArrayEquals(a.msrValues(), b.msrValues(), w + "msr values");
        assertArrayEquals(a.vcpuEvents(), b.vcpuEvents(), w + "events");
        assertEquals(a.mpState(), b.mpState(), w + "mpState");
        assertEquals(a.tscKhz(), b.tscKhz(), w + "tscKhz");
    }
}
