package dev.hostd.vmm.memory;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.stream.Stream;

/**
 * Writes guest RAM to a new memory file, leaving holes where a page is all zeros, so a 1 GiB guest
 * that touched 40 MiB writes about 40 MiB.
 *
 * <p>RAM in a shared mapping (a booted Linux guest's memfd) is read through the file, not the
 * mapping: reading a hole of a memfd through a shared mapping makes it allocate the page, while
 * read(2) on the file returns zeros for it. The file is reached through {@code /proc/self/map_files}
 * (root, as hostd runs), since the VM keeps no fd of it. Reading the file, unlike asking which pages
 * are resident (mincore), also finds pages the host swapped out. RAM in a copy-on-write mapping (a
 * clone's) is read through the mapping: its file holds the parent's pages, not the ones the clone
 * wrote; reading the others maps the file's pages and copies nothing. Callers stop every writer of
 * the RAM first.
 */
public final class SparseRamWriter {
    private static final int PAGE = 4096;
    private static final int CHUNK = 1 << 20;
    private static final MemorySegment ZERO_PAGE = MemorySegment.ofArray(new byte[PAGE]);

    private SparseRamWriter() {}

    /** Creates {@code file} (refusing to replace one), sized as the mapping; returns the bytes of RAM written. */
    public static long write(MemoryMapping ram, Path file) throws IOException {
        long size = ram.size();
        long written = 0;
        try (FileChannel in = ram.copyOnWrite() ? null : FileChannel.open(backingFile(ram.segment()), StandardOpenOption.READ);
             FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer chunk = ByteBuffer.allocateDirect(CHUNK);
            MemorySegment pages = MemorySegment.ofBuffer(chunk);
            for (long at = 0; at < size; at += CHUNK) {
                chunk.clear().limit((int) Math.min(CHUNK, size - at));
                if (in == null) {
                    MemorySegment.copy(ram.segment(), at, pages, 0, chunk.limit());
                    chunk.position(chunk.limit());
                }
                while (chunk.hasRemaining()) {
                    if (in.read(chunk, at + chunk.position()) < 0) {
                        throw new IOException("guest RAM file ended at " + (at + chunk.position()) + " of " + size + " bytes");
                    }
                }
                int filled = chunk.position();
                for (int page = 0; page < filled; ) {
                    if (isZero(pages, page, filled)) {
                        page += PAGE;
                        continue;
                    }
                    int end = page;
                    while (end < filled && !isZero(pages, end, filled)) {
                        end += PAGE;
                    }
                    end = Math.min(end, filled);
                    ByteBuffer run = chunk.duplicate().limit(end).position(page);
                    while (run.hasRemaining()) {
                        out.write(run, at + run.position());
                    }
                    written += end - page;
                    page = end;
                }
            }
            if (out.size() < size) { // the last page is a hole: the file still has the RAM's size
                out.write(ByteBuffer.allocate(1), size - 1);
            }
            out.force(true);
        }
        return written;
    }

    private static boolean isZero(MemorySegment pages, int offset, int limit) {
        int length = Math.min(PAGE, limit - offset);
        return pages.asSlice(offset, length).mismatch(ZERO_PAGE.asSlice(0, length)) == -1;
    }

    /** The file mapped at the start of {@code mapping}, from offset 0 (as guest RAM is mapped). */
    private static Path backingFile(MemorySegment mapping) throws IOException {
        String prefix = Long.toHexString(mapping.address()) + "-";
        try (Stream<Path> entries = Files.list(Path.of("/proc/self/map_files"))) {
            return entries.filter(p -> p.getFileName().toString().startsWith(prefix)).findFirst()
                    .orElseThrow(() -> new NoSuchFileException("/proc/self/map_files/" + prefix + "*",
                            null, "guest RAM is not a file mapping"));
        }
    }
}
