package dev.hostd.vmm.memory;

import dev.hostd.vmm.internal.linux.Libc;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicBoolean;

/** An owned mmap'd range, unmapped exactly once on close. */
public final class MemoryMapping implements AutoCloseable {
    private final MemorySegment segment;
    private final AtomicBoolean closed = new AtomicBoolean();

    MemoryMapping(MemorySegment segment) {
        this.segment = segment;
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

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            Libc.munmap(segment);
        }
    }
}
