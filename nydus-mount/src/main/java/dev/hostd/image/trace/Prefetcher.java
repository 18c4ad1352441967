package dev.hostd.image.trace;

import dev.hostd.image.backend.ChunkSource;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Walks a trace in order on a few background threads, bringing each chunk into the caches. It
 * uses the chunk source's prefetch permits, so foreground reads never queue behind it; a
 * foreground read of a chunk being prefetched joins that fetch instead of starting another.
 */
public final class Prefetcher implements AutoCloseable {
    private final ExecutorService pool;
    private final AtomicInteger next = new AtomicInteger();
    private final AtomicLong done = new AtomicLong();
    private final int[] chunks;
    private volatile boolean stopped;

    public Prefetcher(ChunkSource source, Trace trace, int threads) {
        this.chunks = trace.chunks();
        this.pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "image-prefetch");
            t.setDaemon(true);
            t.setPriority(Thread.MIN_PRIORITY);
            return t;
        });
        for (int i = 0; i < threads; i++) {
            pool.execute(() -> {
                int k;
                while (!stopped && (k = next.getAndIncrement()) < chunks.length) {
                    if (!source.cached(chunks[k])) {
                        source.prefetch(chunks[k]);
                    }
                    done.incrementAndGet();
                }
            });
        }
        pool.shutdown();
    }

    /** Chunks of the trace handled so far. */
    public long done() {
        return done.get();
    }

    public int total() {
        return chunks.length;
    }

    public boolean awaitDone(long millis) throws InterruptedException {
        return pool.awaitTermination(millis, TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        stopped = true;
        pool.shutdownNow();
    }
}
