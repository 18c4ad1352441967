package dev.hostd.template;

import dev.hostd.vmm.memory.MemoryMapping;
import java.util.ArrayList;
import java.util.List;

/**
 * The pages a clone of a template writes on its way to ready, learned from the first clone.
 * Later clones fault them in for writing before the guest runs (MADV_POPULATE_WRITE): the same
 * copies, made from empty page-table entries, so no other VM's MMU notifier has to hear of them.
 */
record WriteSet(List<long[]> ranges, long bytes) {
    private static final long PAGE = 4096;
    /** A clone that wrote more than this is not a typical one to learn from. */
    private static final long MAX_BYTES = 4L << 20;

    static WriteSet learn(MemoryMapping clone) {
        long[] pages = clone.privatePageOffsets();
        List<long[]> ranges = new ArrayList<>();
        for (long page : pages) {
            long[] last = ranges.isEmpty() ? null : ranges.getLast();
            if (last != null && last[0] + last[1] == page) {
                last[1] += PAGE;
            } else {
                ranges.add(new long[] {page, PAGE});
            }
        }
        long bytes = (long) pages.length * PAGE;
        return bytes > MAX_BYTES ? new WriteSet(List.of(), 0) : new WriteSet(List.copyOf(ranges), bytes);
    }

    void prefault(MemoryMapping clone) {
        for (long[] range : ranges) {
            clone.populateWrite(range[0], range[1]);
        }
    }
}
