package dev.hostd.image.trace;

import dev.hostd.image.backend.ChunkSource;

import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Walks a trace in order on a few background threads, bringing exactly its chunks into the
 * caches: the trace becomes a {@link PrefetchPlan} (runs of traced chunks adjacent in a blob, one
 * request each), announced to the chunk source so read-ahead leaves those chunks to us. It uses
 * the chunk source's prefetch permits, so foreground reads never queue behind it; a foreground
 * read of a chunk being prefetched joins that fetch instead of starting another.
 */
public final class Prefetcher implements AutoCloseable {
    private final ExecutorService pool;
    private final ChunkSource source;
    private final AtomicInteger next = new AtomicInteger();
    private final AtomicLong done = new AtomicLong();
    private final AtomicInteger running;
    private final List<int[]> runs;
    private final int total;
    private volatile boolean stopped;

    public Prefetcher(ChunkSource source, Trace trace, int threads) {
        this(source, PrefetchPlan.of(source.bootstrap(), trace.chunks(), source.policy().prefetchMergeBytes(),
                PrefetchPlan.BRIDGE_BYTES), threads);
    }

    public Prefetcher(ChunkSource source, PrefetchPlan plan, int threads) {
        this.source = source;
        this.runs = plan.runs();
        int[] all = plan.chunks();
        this.total = all.length;
        source.expect(all);
        this.running = new AtomicInteger(threads);
        this.pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "image-prefetch");
            t.setDaemon(true);
            t.setPriority(Thread.MIN_PRIORITY);
            return t;
        });
        for (int i = 0; i < threads; i++) {
            pool.execute(() -> {
                try {
                    int k;
                    while (!stopped && (k = next.getAndIncrement()) < runs.size()) {
                        source.prefetchRun(runs.get(k), PrefetchPlan.BRIDGE_BYTES);
                        done.addAndGet(runs.get(k).length);
                    }
                } finally {
                    if (running.decrementAndGet() == 0) {
                        source.forgetExpected(); // whatever failed is read on demand again, with read-ahead
                    }
                }
            });
        }
        pool.shutdown();
    }

    /** Distinct chunks of the trace handled so far. */
    public long done() {
        return done.get();
    }

    /** Distinct chunks in the trace. */
    public int total() {
        return total;
    }

    /** Range requests the plan makes at most (fewer when chunks are cached already). */
    public int runs() {
        return runs.size();
    }

    public boolean awaitDone(long millis) throws InterruptedException {
        return pool.awaitTermination(millis, TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        stopped = true;
        pool.shutdownNow();
        source.forgetExpected();
    }
}
