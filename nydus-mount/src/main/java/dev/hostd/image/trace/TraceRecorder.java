package dev.hostd.image.trace;

import dev.hostd.image.format.Digest;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;

/** Records the first read of each chunk, in order; cheap enough to sit on the FUSE read path. */
public final class TraceRecorder {
    private final Digest bootstrap;
    private final ConcurrentHashMap.KeySetView<Integer, Boolean> seen = ConcurrentHashMap.newKeySet();
    private final ConcurrentLinkedQueue<Integer> order = new ConcurrentLinkedQueue<>();

    public TraceRecorder(Digest bootstrap) {
        this.bootstrap = bootstrap;
    }

    public void record(int chunk) {
        if (seen.add(chunk)) {
            order.add(chunk);
        }
    }

    public Trace snapshot() {
        return new Trace(bootstrap, order.stream().mapToInt(Integer::intValue).toArray());
    }
}
