package dev.hostd.vmm.memory;

import dev.hostd.vmm.internal.linux.Libc;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicBoolean;

/** An owned mmap'd range, unmapped exactly once on close. */
public final class MemoryMapping implements AutoCloseable {
    private final MemorySegment segment;
    private final boolean copyOnWrite;
    private final AtomicBoolean closed = new AtomicBoolean();

    MemoryMapping(MemorySegment segment, boolean copyOnWrite) {
        this.segment = segment;
        this.copyOnWrite = copyOnWrite;
    }

    /** True for a private (copy-on-write) file mapping: its pages may differ from the file's. */
    public boolean copyOnWrite() {
        return copyOnWrite;
    }

    public MemorySegment segment() {
        return segment;
    }

    public long size() {
        return segment.byteSize();
    }

    /** Host-side tuning of the range (e.g. MADV_MERGEABLE for KSM); see {@link Libc} constants. */
    public void advise(int advice, String what) {
        Libc.madvise(segment, advice, what);
    }

    /**
     * Faults {@code [offset, offset + length)} in for writing (MADV_POPULATE_WRITE): in a private
     * file mapping each page is copied now, from a not-present entry. A copy made later by the
     * guest, from a present read-only entry, is an invalidation that every KVM VM of this process
     * must hear about through its MMU notifier: cost that grows with the number of live VMs.
     */
    public void populateWrite(long offset, long length) {
        Libc.madvise(segment.asSlice(offset, length), Libc.MADV_POPULATE_WRITE, "populate for write");
    }

    /** Offsets of the pages of this mapping that are private copies now (present, not the file's page). */
    public long[] privatePageOffsets() {
        return PageMap.privatePages(segment);
    }

    /** How many pages {@link #privatePageOffsets} would list (one pagemap pass, nothing kept). */
    public long privatePageCount() {
        return PageMap.privatePageCount(segment);
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            Libc.munmap(segment);
        }
    }
}
