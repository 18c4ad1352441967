package dev.hostd.image.backend;

import dev.hostd.image.ImageException;
import dev.hostd.image.cache.ChunkCache;
import dev.hostd.image.cache.MemoryCache;
import dev.hostd.image.format.Bootstrap;
import dev.hostd.image.format.ChunkCodec;
import dev.hostd.image.format.ChunkInfo;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The verified data of an image's chunks: memory cache, then host disk cache, then the backend.
 * One fetch per chunk is in flight at a time (other readers wait on its future); a fetch takes
 * the wanted chunk and the blob-adjacent chunks nobody has (up to {@link FetchPolicy#mergeBytes}, more for prefetch)
 * in one request; requests are bounded by semaphores and retried with exponential back-off and
 * full jitter. A chunk that does not verify fails its readers with EIO and is never cached.
 * <p>
 * A trace prefetch first {@linkplain #expect announces} its chunks, then fetches them run by run
 * ({@link #prefetchRun}): exactly the traced chunks, no read-ahead past them. While a chunk is
 * announced, read-ahead leaves it to the prefetcher and a fetch of it merges only announced
 * neighbours, so a prefetched start does not pull the untraced bytes a plain lazy start would.
 */
public final class ChunkSource implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(ChunkSource.class.getName());

    private final Bootstrap bootstrap;
    private final BlobBackend backend;
    private final ChunkCache disk;
    private final MemoryCache memory;
    private final FetchPolicy policy;
    private final Semaphore foreground;
    private final Semaphore background;
    private final ConcurrentHashMap<Integer, CompletableFuture<byte[]>> inFlight = new ConcurrentHashMap<>();
    /** Per blob, chunk indexes sorted by offset: who is next to whom. */
    private final int[][] byOffset;
    private final int[] positionInBlob;
    private final AtomicLong requests = new AtomicLong();
    private final AtomicLong fetchedBytes = new AtomicLong();
    private final AtomicLong fetchedChunks = new AtomicLong();
    private volatile boolean closed;
    private final java.util.Set<Integer> warming = ConcurrentHashMap.newKeySet();
    /** Chunks a trace prefetch will bring; each leaves the set once fetched. */
    private final java.util.Set<Integer> planned = ConcurrentHashMap.newKeySet();
    /**
     * A trace prefetch is running: read-ahead is off, since the trace says what this start reads
     * and a guess past it is bytes the link carries instead of traced ones.
     */
    private volatile boolean prefetching;
    private final java.util.concurrent.ExecutorService readAhead = java.util.concurrent.Executors.newFixedThreadPool(2, r -> {
        Thread t = new Thread(r, "image-readahead");
        t.setDaemon(true);
        return t;
    });

    public ChunkSource(Bootstrap bootstrap, BlobBackend backend, ChunkCache disk, MemoryCache memory, FetchPolicy policy) {
        this.bootstrap = bootstrap;
        this.backend = backend;
        this.disk = disk;
        this.memory = memory;
        this.policy = policy;
        this.foreground = new Semaphore(policy.maxInFlight(), true);
        this.background = new Semaphore(policy.prefetchInFlight(), true);
        List<ChunkInfo> chunks = bootstrap.chunks();
        List<List<Integer>> perBlob = new ArrayList<>();
        for (int b = 0; b < bootstrap.blobs().size(); b++) {
            perBlob.add(new ArrayList<>());
        }
        for (int i = 0; i < chunks.size(); i++) {
            perBlob.get(chunks.get(i).blob()).add(i);
        }
        byOffset = new int[perBlob.size()][];
        positionInBlob = new int[chunks.size()];
        for (int b = 0; b < perBlob.size(); b++) {
            byOffset[b] = perBlob.get(b).stream().sorted(Comparator.comparingLong(i -> chunks.get(i).offset()))
                    .mapToInt(Integer::intValue).toArray();
            for (int k = 0; k < byOffset[b].length; k++) {
                positionInBlob[byOffset[b][k]] = k;
            }
        }
    }

    public Bootstrap bootstrap() {
        return bootstrap;
    }

    public FetchPolicy policy() {
        return policy;
    }

    /** A chunk's verified data, fetched if needed (foreground). Throws ImageException (EIO) on failure. */
    public byte[] chunk(int index) {
        return get(index, false);
    }

    /** Brings a chunk into the caches in the background; errors are logged by the fetch and dropped. */
    public void prefetch(int index) {
        try {
            get(index, true);
        } catch (ImageException e) {
            // the foreground read that needs it will report it
        }
    }

    /**
     * Sequential read-ahead: loads {@code index} (the next chunk of a file being read) into the
     * memory cache on a background thread, so hashing and copying the next chunk overlaps the
     * kernel's reads of this one. Uses the prefetch permits when it must fetch.
     */
    public void readAhead(int index) {
        if (closed || prefetching || planned.contains(index) || cached(index) || inFlight.containsKey(index) || !warming.add(index)) {
            return;
        }
        try {
            readAhead.execute(() -> {
                try {
                    prefetch(index);
                } finally {
                    warming.remove(index);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException closing) {
            warming.remove(index);
        }
    }

    /** Announces the chunks a trace prefetch will fetch (see the class comment). */
    public void expect(int[] chunks) {
        for (int c : chunks) {
            planned.add(c);
        }
        prefetching = chunks.length > 0;
    }

    /** Withdraws every announced chunk not fetched yet (the prefetch stopped); read-ahead resumes. */
    public void forgetExpected() {
        prefetching = false;
        planned.clear();
    }

    /**
     * Fetches a run of announced chunks of one blob (sorted by offset) on the prefetch permits:
     * the chunks no one has or is fetching, in one request per stretch whose gaps are at most
     * {@code bridgeBytes} (the gap's bytes are read and dropped). Errors are logged and dropped;
     * a foreground reader waiting on a failed chunk gets its EIO.
     */
    public void prefetchRun(int[] run, int bridgeBytes) {
        List<ChunkInfo> chunks = bootstrap.chunks();
        List<Integer> group = new ArrayList<>();
        List<CompletableFuture<byte[]>> futures = new ArrayList<>();
        try {
            for (int c : run) {
                if (closed) {
                    break;
                }
                ChunkInfo info = chunks.get(c);
                if (memory.get(info.digest()) != null || (disk != null && disk.contains(info))) {
                    planned.remove(c);
                    continue;
                }
                CompletableFuture<byte[]> f = new CompletableFuture<>();
                if (inFlight.putIfAbsent(c, f) != null) {
                    continue; // someone is fetching it; they deliver it
                }
                if (!group.isEmpty() && info.offset() - chunks.get(group.getLast()).end() > bridgeBytes) {
                    deliver(group, futures, true);
                    release(group, futures, 0);
                    group.clear();
                    futures.clear();
                }
                group.add(c);
                futures.add(f);
            }
            if (!group.isEmpty()) {
                deliver(group, futures, true);
            }
        } catch (RuntimeException e) {
            // logged by the fetch; the chunk's readers have the error
        } finally {
            release(group, futures, 0);
        }
    }

    /** Ends a prefetch stretch: its chunks leave in-flight (a future not completed yet fails). */
    private void release(List<Integer> group, List<CompletableFuture<byte[]>> futures, int from) {
        for (int g = from; g < group.size(); g++) {
            futures.get(g).completeExceptionally(new ImageException("prefetch chunk", "EIO", "the prefetch stopped"));
            inFlight.remove(group.get(g), futures.get(g));
        }
    }

    /** True when the chunk is in a cache already (a prefetcher skips it). */
    public boolean cached(int index) {
        ChunkInfo c = bootstrap.chunks().get(index);
        return memory.get(c.digest()) != null;
    }

    private byte[] get(int index, boolean prefetch) {
        if (closed) {
            throw new ImageException("read chunk", "EIO", "the image is being unmounted");
        }
        ChunkInfo c = bootstrap.chunks().get(index);
        byte[] data = memory.get(c.digest());
        if (data != null) {
            return data;
        }
        CompletableFuture<byte[]> mine = new CompletableFuture<>();
        CompletableFuture<byte[]> running = inFlight.putIfAbsent(index, mine);
        if (running != null) {
            return await(running);
        }
        try {
            data = disk == null ? null : disk.get(c);
            if (data != null) {
                memory.put(c.digest(), data);
                mine.complete(data);
                return data;
            }
            fetchGroup(index, mine, prefetch);
        } catch (RuntimeException e) {
            mine.completeExceptionally(e);
        } finally {
            inFlight.remove(index, mine);
        }
        return await(mine);
    }

    private static byte[] await(CompletableFuture<byte[]> f) {
        try {
            return f.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof ImageException ie) {
                throw ie;
            }
            throw new ImageException("read chunk", "EIO", e.getCause().toString(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ImageException("read chunk", "EINTR", "interrupted");
        }
    }

    /** Fetches {@code first} plus the following chunks of its blob that no one has, in one request. */
    private void fetchGroup(int first, CompletableFuture<byte[]> firstFuture, boolean prefetch) {
        List<ChunkInfo> chunks = bootstrap.chunks();
        ChunkInfo head = chunks.get(first);
        List<Integer> group = new ArrayList<>(List.of(first));
        List<CompletableFuture<byte[]>> futures = new ArrayList<>(List.of(firstFuture));
        int[] order = byOffset[head.blob()];
        long end = head.end();
        // While a trace prefetch runs, a fetch takes only traced neighbours: the others were not read
        // by the last start, and on a bandwidth-bound link a guess delays the bytes the trace names.
        boolean traced = prefetching || planned.contains(first);
        for (int k = positionInBlob[first] + 1; k < order.length; k++) {
            ChunkInfo next = chunks.get(order[k]);
            if (next.offset() != end || next.end() - head.offset() > (prefetch ? policy.prefetchMergeBytes() : policy.mergeBytes())
                    || (traced && !planned.contains(order[k]))
                    || memory.get(next.digest()) != null || (disk != null && disk.contains(next))) {
                break;
            }
            CompletableFuture<byte[]> f = new CompletableFuture<>();
            if (inFlight.putIfAbsent(order[k], f) != null) {
                break;
            }
            group.add(order[k]);
            futures.add(f);
            end = next.end();
        }
        try {
            deliver(group, futures, prefetch);
        } catch (RuntimeException e) {
            // every future of the group has the error
        } finally {
            for (int g = 1; g < group.size(); g++) {
                inFlight.remove(group.get(g), futures.get(g));
            }
        }
    }

    /**
     * One request for the stored bytes from the first to the last chunk of {@code group} (same
     * blob, sorted by offset); each chunk is verified, cached and handed to its future.
     */
    private void deliver(List<Integer> group, List<CompletableFuture<byte[]>> futures, boolean prefetch) {
        List<ChunkInfo> chunks = bootstrap.chunks();
        ChunkInfo head = chunks.get(group.getFirst());
        long end = chunks.get(group.getLast()).end();
        try {
            byte[] stored = fetchWithRetries(head, (int) (end - head.offset()), prefetch);
            for (int g = 0; g < group.size(); g++) {
                ChunkInfo c = chunks.get(group.get(g));
                try {
                    byte[] data = ChunkCodec.restore(c, stored, (int) (c.offset() - head.offset()));
                    memory.put(c.digest(), data);
                    if (disk != null) {
                        disk.put(c, data);
                    }
                    fetchedChunks.incrementAndGet();
                    planned.remove(group.get(g));
                    futures.get(g).complete(data);
                } catch (ImageException e) {
                    LOG.log(System.Logger.Level.ERROR, "chunk " + group.get(g) + " (" + c.digest() + ") from "
                            + backend.describe() + " is corrupt: " + e.getMessage());
                    futures.get(g).completeExceptionally(e);
                }
            }
        } catch (RuntimeException e) {
            for (CompletableFuture<byte[]> f : futures) {
                f.completeExceptionally(e);
            }
            throw e;
        }
    }

    private byte[] fetchWithRetries(ChunkInfo head, int length, boolean prefetch) {
        Semaphore permits = prefetch ? background : foreground;
        var blob = bootstrap.blobs().get(head.blob()).digest();
        IOException last = null;
        for (int attempt = 1; attempt <= policy.attempts(); attempt++) {
            if (closed) {
                break;
            }
            try {
                permits.acquire();
                try {
                    requests.incrementAndGet();
                    byte[] b = backend.read(blob, head.offset(), length);
                    fetchedBytes.addAndGet(b.length);
                    return b;
                } finally {
                    permits.release();
                }
            } catch (IOException e) {
                last = e;
                if (attempt < policy.attempts()) {
                    sleep(backoff(attempt));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ImageException("fetch " + blob, "EINTR", "interrupted");
            }
        }
        String why = last == null ? "unmounting" : last.toString();
        LOG.log(System.Logger.Level.ERROR, "fetch of " + length + " bytes at " + head.offset() + " of " + blob + " from "
                + backend.describe() + " failed after " + policy.attempts() + " attempts: " + why);
        throw new ImageException("fetch " + blob + " from " + backend.describe(), "EIO",
                "failed after " + policy.attempts() + " attempts: " + why);
    }

    /** Full jitter: uniform in [0, min(max, base * 2^(attempt-1))]. */
    long backoff(int attempt) {
        long cap = Math.min(policy.maxBackoff().toMillis(), policy.backoff().toMillis() << Math.min(attempt - 1, 20));
        return ThreadLocalRandom.current().nextLong(cap + 1);
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Counters for inspect and benchmarks. */
    public record Stats(long requests, long fetchedBytes, long fetchedChunks) {
    }

    public Stats stats() {
        return new Stats(requests.get(), fetchedBytes.get(), fetchedChunks.get());
    }

    @Override
    public void close() {
        closed = true;
        readAhead.shutdownNow();
        backend.close();
    }
}
