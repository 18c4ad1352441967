package dev.hostd.vmm.snapshot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SnapshotWriteTest {
    @TempDir
    Path dir;

    @Test
    void writeReplacesAnExistingFileAndLeavesNoTemporaryFile() throws IOException {
        Path f = dir.resolve("vm.snap");
        Files.writeString(f, "an older, longer file that is not a snapshot at all ".repeat(500));
        MicrovmState s = Fixtures.state(11, 2, true, 1, Map.of("a", "b"));
        SnapshotFile.write(f, s);
        assertEquals(List.of(f), list());
        assertEquals(s, SnapshotFile.read(f));

        MicrovmState t = Fixtures.state(12, 1, false, 0, Map.of());
        SnapshotFile.write(f, t);
        assertEquals(List.of(f), list());
        assertEquals(t, SnapshotFile.read(f));
    }

    @Test
    void aRefusedStateLeavesTheOldFileAndNoTemporaryFile() throws IOException {
        Path f = dir.resolve("vm.snap");
        SnapshotFile.write(f, Fixtures.small());
        byte[] before = Files.readAllBytes(f);
        MicrovmState s = Fixtures.small();
        MicrovmState dupDevices = new MicrovmState(s.machine(), s.memory(), s.vm(), s.vcpus(),
                List.of(s.devices().get(0), s.devices().get(0)), s.metadata());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SnapshotFile.write(f, dupDevices));
        assertEquals("cannot write snapshot " + f + ": DEVICE: duplicate device name \"dev0\"", e.getMessage());
        assertArrayEquals(before, Files.readAllBytes(f));
        assertEquals(List.of(f), list());
    }

    @Test
    void aRelativePathIsWrittenInItsOwnDirectory() throws IOException {
        Path f = Path.of("").toAbsolutePath().relativize(dir.resolve("rel.snap"));
        SnapshotFile.write(f, Fixtures.small());
        assertEquals(List.of(dir.resolve("rel.snap")), list());
    }

    @Test
    void aMissingDirectoryFailsCleanly() {
        assertThrows(NoSuchFileException.class, () -> SnapshotFile.write(dir.resolve("no/such/vm.snap"), Fixtures.small()));
    }

    private List<Path> list() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        }
    }
}
