package dev.hostd.vmm.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Magic and version rules: refuse another major, accept a newer minor and skip what it added. */
class SnapshotVersionTest {
    @TempDir
    Path dir;

    final MicrovmState state = Fixtures.small();

    @Test
    void wrongMagicIsNotASnapshot() throws IOException {
        byte[] f = Raw.file(Raw.cat(Raw.sections(state)));
        System.arraycopy("FCSNAPSH".getBytes(StandardCharsets.US_ASCII), 0, f, 0, 8);
        assertEquals("not a hostd snapshot: bad magic 4643534e41505348 (expected \"HOSTDSNP\")", problem(f));
        assertTrue(problem("hello".getBytes(StandardCharsets.US_ASCII)).startsWith("not a hostd snapshot"));
        assertTrue(problem(new byte[100]).startsWith("not a hostd snapshot"));
    }

    @Test
    void anotherMajorVersionIsRefusedWithAnExplanation() throws IOException {
        byte[] body = Raw.cat(Raw.sections(state));
        assertEquals("snapshot format 2.0 is not supported by this hostd, which reads 1.x: rebuild the template",
                problem(Raw.file(2, 0, 0, body)));
        assertEquals("snapshot format 0.9 is not supported by this hostd, which reads 1.x: rebuild the template",
                problem(Raw.file(0, 9, 0, body)));
        // A 2.x header may be laid out differently: only magic and version are looked at.
        byte[] twoWithOtherHeader = Raw.file(2, 0, 0, body);
        java.util.Arrays.fill(twoWithOtherHeader, 12, 32, (byte) 0x5a);
        assertTrue(problem(twoWithOtherHeader).startsWith("snapshot format 2.0 is not supported"));
    }

    @Test
    void aNewerMinorWithAnUnknownOptionalSectionIsAccepted() throws IOException {
        List<byte[]> sections = Raw.sections(state);
        sections.add(3, Raw.rec("BALN", 0, Raw.u64(12345), "future balloon state".getBytes(StandardCharsets.UTF_8)));
        sections.add(Raw.rec("ZZZZ", 0)); // empty, at the end
        Path f = write(Raw.file(1, 1, 0, Raw.cat(sections)));
        assertEquals(state, SnapshotFile.read(f));
        SnapshotInfo info = SnapshotFile.inspect(f);
        assertEquals(1, info.formatMinor());
        assertEquals("1.1", SnapshotFile.formatVersion(f), "the version as written, from the header alone");
        assertEquals("'BALN'", info.sections().get(3).name());
        assertEquals(Raw.tag("BALN"), info.sections().get(3).tag());
    }

    @Test
    void anUnknownOptionalRecordInsideAVcpuIsSkipped() throws IOException {
        VcpuState v = state.vcpus().get(0);
        List<byte[]> records = Raw.vcpuRecords(v);
        records.add(2, Raw.rec("NEST", 0, new byte[77]));
        List<byte[]> sections = Raw.sections(state);
        sections.set(3, Raw.vcpu(v, records));
        assertEquals(state, SnapshotFile.read(write(Raw.file(1, 3, 0, Raw.cat(sections)))));
    }

    @Test
    void anUnknownRequiredSectionIsRefused() throws IOException {
        List<byte[]> sections = Raw.sections(state);
        sections.add(Raw.rec("GPU0", Raw.REQ, new byte[8]));
        String p = problem(Raw.file(1, 1, 0, Raw.cat(sections)));
        assertTrue(p.contains("unknown required section 'GPU0'"), p);
    }

    @Test
    void anUnknownRequiredRecordInsideAVcpuIsRefused() throws IOException {
        VcpuState v = state.vcpus().get(0);
        List<byte[]> records = Raw.vcpuRecords(v);
        records.add(Raw.rec("AMXT", Raw.REQ, new byte[8]));
        List<byte[]> sections = Raw.sections(state);
        sections.set(3, Raw.vcpu(v, records));
        String p = problem(Raw.file(1, 1, 0, Raw.cat(sections)));
        assertTrue(p.contains("unknown required record 'AMXT'"), p);
    }

    @Test
    void unknownFlagsAreRefused() throws IOException {
        byte[] body = Raw.cat(Raw.sections(state));
        assertEquals("unknown header flags 0x00000004", problem(Raw.file(1, 0, 4, body)));
        List<byte[]> sections = Raw.sections(state);
        sections.add(Raw.rec("ZZZZ", 2));
        assertTrue(problem(Raw.file(Raw.cat(sections))).contains("has unknown flags 0x00000002"));
    }

    @Test
    void theWriterWritesTheCurrentVersion() throws IOException {
        Path f = dir.resolve("v.snap");
        SnapshotFile.write(f, state);
        SnapshotInfo info = SnapshotFile.inspect(f);
        assertEquals(SnapshotFile.FORMAT_MAJOR, info.formatMajor());
        assertEquals(SnapshotFile.FORMAT_MINOR, info.formatMinor());
        assertEquals(SnapshotFile.FORMAT_MAJOR + "." + SnapshotFile.FORMAT_MINOR, SnapshotFile.formatVersion(f));
    }

    private Path write(byte[] bytes) throws IOException {
        Path f = dir.resolve("crafted.snap");
        Files.write(f, bytes);
        return f;
    }

    private String problem(byte[] bytes) throws IOException {
        Path f = write(bytes);
        SnapshotFormatException e = assertThrows(SnapshotFormatException.class, () -> SnapshotFile.read(f));
        assertEquals("snapshot " + f + ": " + e.problem(), e.getMessage());
        assertEquals(f, e.file());
        return e.problem();
    }
}
