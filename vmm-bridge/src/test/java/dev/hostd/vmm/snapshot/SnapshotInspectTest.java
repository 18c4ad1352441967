package dev.hostd.vmm.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SnapshotInspectTest {
    @TempDir
    Path dir;

    @Test
    void listsTheHeaderAndEverySectionWithItsPlace() throws IOException {
        Path f = dir.resolve("vm.snap");
        MicrovmState s = Fixtures.state(21, 3, true, 2, Fixtures.unicodeMetadata());
        SnapshotFile.write(f, s);
        byte[] bytes = Files.readAllBytes(f);
        SnapshotInfo info = SnapshotFile.inspect(f);

        assertEquals(1, info.formatMajor());
        assertEquals(0, info.formatMinor());
        assertEquals(bytes.length - 32, info.bodyLength());
        CRC32C crc = new CRC32C();
        crc.update(bytes, 32, bytes.length - 32);
        assertEquals((int) crc.getValue(), info.crc32c());
        assertTrue(info.checksumValid());
        assertEquals(List.of("MACHINE", "MEMORY", "VM", "VCPU", "VCPU", "VCPU", "DEVICE", "DEVICE", "METADATA"),
                info.sections().stream().map(SectionInfo::name).toList());

        long expectedOffset = 32 + 16;
        for (SectionInfo si : info.sections()) {
            assertEquals(expectedOffset, si.offset(), si.name());
            assertEquals(si.tag(), Raw.tag(new String(bytes, (int) si.offset() - 16, 4, "US-ASCII")));
            expectedOffset = si.offset() + si.length() + 16;
        }
        assertEquals(bytes.length + 16, expectedOffset, "sections tile the body exactly");
    }

    @Test
    void aCorruptBodyIsReportedNotThrown() throws IOException {
        Path f = dir.resolve("vm.snap");
        SnapshotFile.write(f, Fixtures.small());
        byte[] bytes = Files.readAllBytes(f);
        bytes[bytes.length - 3] ^= 1;
        Files.write(f, bytes);
        SnapshotInfo info = SnapshotFile.inspect(f);
        assertFalse(info.checksumValid());
        assertEquals(7, info.sections().size(), "the framing is intact, so all sections are listed");
        assertThrows(SnapshotFormatException.class, () -> SnapshotFile.read(f));
    }

    @Test
    void aTruncatedBodyListsTheSectionsThatAreWhole() throws IOException {
        Path f = dir.resolve("vm.snap");
        SnapshotFile.write(f, Fixtures.small());
        byte[] bytes = Files.readAllBytes(f);
        SnapshotInfo whole = SnapshotFile.inspect(f);
        SectionInfo vcpu = whole.sections().get(3);
        Files.write(f, Arrays.copyOf(bytes, (int) (vcpu.offset() + 10)));
        SnapshotInfo info = SnapshotFile.inspect(f);
        assertFalse(info.checksumValid());
        assertEquals(whole.sections().subList(0, 3), info.sections());
    }

    @Test
    void anUnreadableHeaderStillThrows() throws IOException {
        Path f = dir.resolve("vm.snap");
        SnapshotFile.write(f, Fixtures.small());
        byte[] bytes = Files.readAllBytes(f);
        bytes[20] ^= 1; // body length: the header checksum no longer matches
        Files.write(f, bytes);
        SnapshotFormatException e = assertThrows(SnapshotFormatException.class, () -> SnapshotFile.inspect(f));
        assertTrue(e.problem().startsWith("corrupt: header checksum mismatch"), e.getMessage());
    }
}
