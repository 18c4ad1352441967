package dev.hostd.vmm.memory;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.ValueLayout;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Guest RAM in a memfd, as a Linux guest's, written to a memory file with holes for zero pages. */
class SparseRamWriterTest {
    static final long SIZE = 8L << 20;

    @TempDir
    Path dir;

    @Test
    void theFileHoldsTheRamWithHolesAndReadingDoesNotFillTheMemfd() throws Exception {
        try (MemoryFile memfd = MemoryFile.anonymous("sparse-test", SIZE); MemoryMapping ram = memfd.mapShared()) {
            ram.segment().set(ValueLayout.JAVA_BYTE, 0, (byte) 1); // first page
            ram.segment().set(ValueLayout.JAVA_LONG, 3 * 4096 + 8, 0x1122334455667788L); // page 3
            ram.segment().set(ValueLayout.JAVA_BYTE, 4096 * 100, (byte) 0); // touched but zero: a hole
            ram.segment().set(ValueLayout.JAVA_BYTE, SIZE - 1, (byte) 7); // last byte
            Path file = dir.resolve("memory");
            long written = SparseRamWriter.write(ram, file);
            assertTrue(shmemResidentKib(ram) < 64, "the writer did not read through the mapping, which would allocate the memfd's holes");

            assertEquals(3 * 4096, written, "three pages hold data");
            assertEquals(SIZE, Files.size(file));
            assertTrue(allocatedBytes(file) < 64 * 1024, "holes cost nothing: " + allocatedBytes(file) + " bytes allocated");
            assertArrayEquals(ram.segment().toArray(ValueLayout.JAVA_BYTE), Files.readAllBytes(file), "byte for byte (this read maps every page)");
            assertThrows(FileAlreadyExistsException.class, () -> SparseRamWriter.write(ram, file), "never replaces a file");
        }
    }

    private static long allocatedBytes(Path file) throws Exception {
        Process p = new ProcessBuilder("stat", "-c", "%b %B", file.toString()).start();
        String[] out = new String(p.getInputStream().readAllBytes()).trim().split(" ");
        p.waitFor();
        return Long.parseLong(out[0]) * Long.parseLong(out[1]);
    }

    /** The mapping's RssShmem from /proc/self/smaps: pages of the memfd mapped in. */
    private static long shmemResidentKib(MemoryMapping ram) throws Exception {
        String start = Long.toHexString(ram.segment().address()) + "-";
        boolean in = false;
        for (String line : Files.readAllLines(Path.of("/proc/self/smaps"))) {
            if (line.matches("^[0-9a-f]+-[0-9a-f]+ .*")) {
                in = line.startsWith(start);
            } else if (in && line.startsWith("Rss:")) {
                return Long.parseLong(line.replaceAll("\\D", ""));
            }
        }
        throw new AssertionError("no smaps entry for the mapping");
    }
}
