package dev.hostd.vmm.snapshot;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;

/**
 * CRC32C of guest RAM, computed by streaming: a file through one reused 1 MiB direct buffer, a
 * mapped segment in slices. Neither ever holds more than a slice in the Java heap, so a 1 GiB
 * (sparse) memory file costs 1 MiB of buffer, and the JDK's CRC32C uses the CPU's instruction.
 */
public final class MemoryChecksum {
    private static final int FILE_CHUNK = 1 << 20;
    /** ByteBuffer views are limited to 2 GiB; slice well below that. */
    private static final long SEGMENT_CHUNK = 1L << 28;

    private MemoryChecksum() {}

    /** CRC32C of the whole file as it is now. */
    public static int crc32c(Path file) throws IOException {
        CRC32C crc = new CRC32C();
        ByteBuffer buf = ByteBuffer.allocateDirect(FILE_CHUNK);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            while (ch.read(buf.clear()) >= 0) {
                crc.update(buf.flip());
            }
        }
        return (int) crc.getValue();
    }

    /** CRC32C of all bytes of {@code segment} (heap, native or mapped). */
    public static int crc32c(MemorySegment segment) {
        CRC32C crc = new CRC32C();
        long size = segment.byteSize();
        if (segment.isNative() || segment.heapBase().orElse(null) instanceof byte[]) {
            for (long off = 0; off < size; off += SEGMENT_CHUNK) {
                crc.update(segment.asSlice(off, Math.min(SEGMENT_CHUNK, size - off)).asByteBuffer());
            }
        } else { // a heap segment over int[], long[], ...: no ByteBuffer view, so copy through a small array
            byte[] chunk = new byte[FILE_CHUNK];
            for (long off = 0; off < size; off += chunk.length) {
                int n = (int) Math.min(chunk.length, size - off);
                MemorySegment.copy(segment, ValueLayout.JAVA_BYTE, off, chunk, 0, n);
                crc.update(chunk, 0, n);
            }
        }
        return (int) crc.getValue();
    }
}
