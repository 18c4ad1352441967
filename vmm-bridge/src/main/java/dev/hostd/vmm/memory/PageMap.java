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
import java.util.function.LongConsumer;

/** Reads /proc/self/pagemap: which pages of a mapping are present and private (see proc(5)). */
final class PageMap {
    private static final long PAGE = 4096;
    private static final long PRESENT = 1L << 63, FILE_OR_SHARED = 1L << 61;

    private PageMap() {}

    static long[] privatePages(MemorySegment mapping) {
        long[][] found = {new long[64]};
        int[] count = {0};
        forEachPrivatePage(mapping, offset -> {
            if (count[0] == found[0].length) {
                found[0] = Arrays.copyOf(found[0], count[0] * 2);
            }
            found[0][count[0]++] = offset;
        });
        return Arrays.copyOf(found[0], count[0]);
    }

    /** How many pages {@link #privatePages} would list, without listing them (a host summing thousands of sandboxes). */
    static long privatePageCount(MemorySegment mapping) {
        long[] count = {0};
        forEachPrivatePage(mapping, offset -> count[0]++);
        return count[0];
    }

    private static void forEachPrivatePage(MemorySegment mapping, LongConsumer offsets) {
        long pages = mapping.byteSize() / PAGE;
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
                        offsets.accept((first + i) * PAGE);
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading /proc/self/pagemap", e);
        }
    }
}
