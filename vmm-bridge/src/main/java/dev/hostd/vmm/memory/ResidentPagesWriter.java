package dev.hostd.vmm.memory;

import dev.hostd.vmm.internal.linux.Libc;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Writes guest RAM held in an anonymous shared mapping (a memfd) to a new memory file: only the
 * pages the memfd has (mincore), the rest left as holes, so a 1 GiB guest that touched 40 MiB
 * writes 40 MiB. Reading the other pages would make the memfd allocate them. Callers stop every
 * writer of the RAM first.
 */
public final class ResidentPagesWriter {
    private static final long PAGE = 4096;

    private ResidentPagesWriter() {}

    /** Creates {@code file} (refusing to replace one), sized as the mapping; returns the bytes of RAM written. */
    public static long write(MemoryMapping ram, Path file) throws IOException {
        MemorySegment segment = ram.segment();
        byte[] resident = Libc.mincore(segment);
        long written = 0;
        try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            for (int page = 0; page < resident.length; ) {
                if ((resident[page] & 1) == 0) {
                    page++;
                    continue;
                }
                int end = page;
                while (end < resident.length && (resident[end] & 1) != 0) {
                    end++;
                }
                long offset = page * PAGE;
                long length = Math.min((end - page) * PAGE, segment.byteSize() - offset);
                ByteBuffer run = segment.asSlice(offset, length).asByteBuffer();
                while (run.hasRemaining()) {
                    out.write(run, offset + run.position());
                }
                written += length;
                page = end;
            }
            if (out.size() < segment.byteSize()) { // the last page is a hole: the file still has the RAM's size
                out.write(ByteBuffer.allocate(1), segment.byteSize() - 1);
            }
            out.force(true);
        }
        return written;
    }
}
