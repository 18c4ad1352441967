package dev.hostd.image.trace;

import dev.hostd.image.backend.ChunkSource;

import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

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
    private final AtomicInteger running;
    private final List<int[]> runs;
    private volatile boolean stopped;

    public Prefetcher(ChunkSource source, Trace trace, int threads) {
        this(source, PrefetchPlan.of(source.bootstrap(), trace.chunks(), source.policy().prefetchMergeBytes(),
                PrefetchPlan.BRIDGE_BYTES), threads);
    }

    public Prefetcher(ChunkSource source, PrefetchPlan plan, int threads) {
        this.source = source;
        this.runs = plan.runs();
        source.expect(plan.chunks());
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
