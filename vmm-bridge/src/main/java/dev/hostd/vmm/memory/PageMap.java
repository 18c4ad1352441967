package dev.hostd.vmm.memory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

/** Reads /proc/self/pagemap: which pages of a mapping are present and private (see proc(5)). */
final class PageMap {
    private static final long PAGE = 4096;
    private static final long PRESENT = 1L << 63, FILE_OR_SHARED = 1L << 61;

    private PageMap() {}

    static long[] privatePages(MemorySegment mapping) {
        long pages = mapping.byteSize() / PAGE;
        long[] found = new long[64];
        int count = 0;
        try (FileChannel pagemap = FileChannel.open(Path.of("/proc/self/pagemap"), StandardOpenOption.READ)) {
            ByteBuffer entries = ByteBuffer.allocate((int) Math.min(pages, 8192) * 8).order(ByteOrder.LITTLE_ENDIAN);
            for (long first = 0; first < pages; first += entries.capacity() / 8) {
                entries.clear();
                long n = Math.min(pages - first, entries.capacity() / 8);
                entries.limit((int) n * 8);
                long position = (mapping.address() / PAGE + first) * 8;
                while (entries.hasRemaining()) {
                    if (pagemap.read(entries, position + entries.position()) < 0) {
                        break;
                    }
                }
                entries.flip();
                for (int i = 0; entries.remaining() >= 8; i++) {
                    long entry = entries.getLong();
                    if ((entry & PRESENT) != 0 && (entry & FILE_OR_SHARED) == 0) {
                        if (count == found.length) {
                            found = Arrays.copyOf(found, count * 2);
                        }
                        found[count++] = (first + i) * PAGE;
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading /proc/self/pagemap", e);
        }
        return Arrays.copyOf(found, count);
    }
}
