package dev.hostd.vmm.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MemoryChecksumTest {
    @TempDir
    Path dir;

    private static final byte[] MARK = "guest was here".getBytes(StandardCharsets.US_ASCII);

    @Test
    void knownVector() throws IOException {
        byte[] v = "123456789".getBytes(StandardCharsets.US_ASCII);
        Path f = dir.resolve("v");
        Files.write(f, v);
        assertEquals(0xe3069283, MemoryChecksum.crc32c(f)); // the CRC-32C check value
        assertEquals(0xe3069283, MemoryChecksum.crc32c(MemorySegment.ofArray(v)));
        Files.write(f, new byte[0]);
        assertEquals(0, MemoryChecksum.crc32c(f));
    }

    @Test
    void aSparseFileChecksumsLikeTheSameBytesWrittenDensely() throws IOException {
        long size = 48L << 20;
        long[] at = {0, (17L << 20) + 3, size - MARK.length};
        Path sparse = sparseFile(dir.resolve("sparse.mem"), size, at);
        Path dense = dir.resolve("dense.mem");
        byte[] all = new byte[(int) size];
        for (long a : at) {
            System.arraycopy(MARK, 0, all, (int) a, MARK.length);
        }
        try (OutputStream out = Files.newOutputStream(dense)) {
            for (int off = 0; off < all.length; off += 4096) { // every zero really written
                out.write(all, off, 4096);
            }
        }
        int expected = MemoryChecksum.crc32c(dense);
        assertEquals(expected, MemoryChecksum.crc32c(sparse));
        assertEquals(expected, MemoryChecksum.crc32c(MemorySegment.ofArray(all)));
        CRC32C c = new CRC32C();
        c.update(all);
        assertEquals((int) c.getValue(), expected);
        try (Arena arena = Arena.ofConfined(); FileChannel ch = FileChannel.open(sparse)) {
            assertEquals(expected, MemoryChecksum.crc32c(ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena)));
        }
    }

    @Test
    void aOneGibSparseTmpfsFile() throws IOException {
        Path shm = Path.of("/dev/shm");
        Path base = Files.isDirectory(shm) && Files.isWritable(shm) ? shm : dir;
        Path f = Files.createTempFile(base, "hostd-memory-checksum-", ".mem");
        try {
            long size = 1L << 30;
            long[] at = {4096, (512L << 20) + 1, size - MARK.length};
            sparseFile(f, size, at);
            // The same bytes, streamed through CRC32C without touching a disk.
            CRC32C c = new CRC32C();
            byte[] zeros = new byte[1 << 20];
            long pos = 0;
            for (long a : at) {
                for (long gap = a - pos; gap > 0; gap -= Math.min(gap, zeros.length)) {
                    c.update(zeros, 0, (int) Math.min(gap, zeros.length));
                }
                c.update(MARK);
                pos = a + MARK.length;
            }
            assertEquals(size, pos);
            int expected = (int) c.getValue();
            assertEquals(expected, MemoryChecksum.crc32c(f));
            try (Arena arena = Arena.ofConfined(); FileChannel ch = FileChannel.open(f)) {
                assertEquals(expected, MemoryChecksum.crc32c(ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena)));
            }
        } finally {
            Files.deleteIfExists(f);
        }
    }

    @Test
    void aSegmentOverANonByteArrayIsHandled() {
        long[] words = {0x0706050403020100L, 0x0f0e0d0c0b0a0908L};
        byte[] bytes = new byte[16];
        for (int i = 0; i < 16; i++) {
            bytes[i] = (byte) i;
        }
        assertEquals(MemoryChecksum.crc32c(MemorySegment.ofArray(bytes)),
                MemoryChecksum.crc32c(MemorySegment.ofArray(words)));
        assertEquals(MemoryChecksum.crc32c(MemorySegment.ofArray(bytes).asSlice(3, 9)),
                MemoryChecksum.crc32c(MemorySegment.ofArray(words).asSlice(3, 9)));
    }

    private static Path sparseFile(Path f, long size, long[] marksAt) throws IOException {
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(size);
            for (long a : marksAt) {
                raf.seek(a);
                raf.write(MARK);
            }
        }
        return f;
    }
}
