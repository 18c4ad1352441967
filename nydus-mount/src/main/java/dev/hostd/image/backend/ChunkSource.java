package dev.hostd.image.backend;

import dev.hostd.image.ImageException;
import dev.hostd.image.cache.ChunkCache;
import dev.hostd.image.cache.MemoryCache;
import dev.hostd.image.format.Bootstrap;
import dev.hostd.image.format.ChunkCodec;
import dev.hostd.image.format.ChunkInfo;
import dev.hostd.image.format.Digest;

import java.io.IOException;
import java.io.InputStream;
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
    /** Reads the rest of a foreground response after its reader's chunk is handed out (see {@link #deliver}). */
    private final java.util.concurrent.ExecutorService streams = java.util.concurrent.Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "image-fetch-tail");
        t.setDaemon(true);
        return t;
    });
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
            deliver(group, futures, prefetch); // each chunk leaves inFlight when its future completes
        } catch (RuntimeException e) {
            // every future of the group has the error
        }
    }

    /**
     * One request for the stored bytes from the first to the last chunk of {@code group} (same
     * blob, sorted by offset; gaps between them are read and dropped). Each chunk is verified,
     * cached and handed to its future as soon as its bytes are in. A foreground fetch returns once
     * the chunk its reader missed on (the first) is handed out, and the rest of the response is read
     * on a background thread, so the reader does not wait for the merged neighbours. A transport
     * error retries from the first chunk not handed out yet, with back-off; when the attempts are
     * used up, every chunk not handed out fails (EIO).
     */
    private void deliver(List<Integer> group, List<CompletableFuture<byte[]>> futures, boolean prefetch) {
        for (int g = 0; g < group.size(); g++) {
            int index = group.get(g);
            CompletableFuture<byte[]> f = futures.get(g);
            f.whenComplete((data, error) -> inFlight.remove(index, f));
        }
        new Delivery(group, futures, prefetch).run(prefetch ? Integer.MAX_VALUE : 1);
    }

    /** The state of one merged fetch, which a foreground reader may hand to a background thread midway. */
    private final class Delivery {
        private final List<Integer> group;
        private final List<CompletableFuture<byte[]>> futures;
        private final Semaphore permits;
        private final Digest blob;
        private final long end;
        private int done;
        private int attempts;
        private IOException last;

        Delivery(List<Integer> group, List<CompletableFuture<byte[]>> futures, boolean prefetch) {
            this.group = group;
            this.futures = futures;
            this.permits = prefetch ? background : foreground;
            List<ChunkInfo> chunks = bootstrap.chunks();
            this.blob = bootstrap.blobs().get(chunks.get(group.getFirst()).blob()).digest();
            this.end = chunks.get(group.getLast()).end();
        }

        /** Fetches until every chunk is handed out; after {@code handOff} chunks the open response continues in the background. */
        void run(int handOff) {
            try {
                while (done < group.size() && attempts < policy.attempts() && !closed) {
                    if (attempts++ > 0) {
                        sleep(backoff(attempts - 1));
                    }
                    try {
                        permits.acquire();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new ImageException("fetch " + blob, "EINTR", "interrupted");
                    }
                    InputStream in = null;
                    boolean handedOver = false;
                    try {
                        long from = bootstrap.chunks().get(group.get(done)).offset();
                        requests.incrementAndGet();
                        in = backend.open(blob, from, (int) (end - from));
                        long pos = from;
                        while (done < group.size()) {
                            pos = next(in, pos);
                            if (done == handOff && done < group.size()) {
                                InputStream stream = in;
                                long at = pos;
                                streams.execute(() -> finish(stream, at));
                                handedOver = true;
                                return;
                            }
                        }
                    } catch (IOException e) {
                        last = e;
                    } finally {
                        if (!handedOver) {
                            closeQuietly(in);
                            permits.release();
                        }
                    }
                }
            } catch (java.util.concurrent.RejectedExecutionException e) {
                fail(new ImageException("fetch " + blob, "EIO", "the image is being unmounted"));
                return;
            } catch (RuntimeException e) {
                fail(e);
                throw e;
            } catch (Error e) {
                fail(new ImageException("fetch " + blob, "EIO", e.toString(), e)); // no reader may wait forever
                throw e;
            }
            if (done < group.size() && closed) {
                // Unmounting cuts fetches off on purpose: not a backend failure worth an ERROR line.
                ImageException e = new ImageException("fetch " + blob, "EIO", "the image is being unmounted");
                fail(e);
                throw e;
            }
            if (done < group.size()) {
                String why = last == null ? "no attempt made" : last.toString();
                ChunkInfo first = bootstrap.chunks().get(group.get(done));
                LOG.log(System.Logger.Level.ERROR, "fetch of " + (end - first.offset()) + " bytes at " + first.offset() + " of "
                        + blob + " from " + backend.describe() + " failed after " + attempts + " attempts: " + why);
                ImageException e = new ImageException("fetch " + blob + " from " + backend.describe(), "EIO",
                        "failed after " + attempts + " attempts: " + why);
                fail(e);
                throw e;
            }
        }

        /** On a background thread: the rest of a handed-over response, then retries as {@link #run} does. */
        private void finish(InputStream in, long pos) {
            try {
                try {
                    while (done < group.size() && !closed) {
                        pos = next(in, pos);
                    }
                } catch (IOException e) {
                    last = e;
                } finally {
                    closeQuietly(in);
                    permits.release();
                }
                if (done < group.size()) {
                    run(Integer.MAX_VALUE); // fails every chunk it cannot deliver, and logs why
                }
            } catch (RuntimeException | Error e) {
                // From the tail itself (not from run, which failed its chunks already): no reader may wait forever.
                if (futures.stream().anyMatch(f -> !f.isDone())) {
                    LOG.log(System.Logger.Level.ERROR, "reading the rest of a fetch of " + blob + " failed", e);
                    fail(new ImageException("fetch " + blob, "EIO", e.toString(), e));
                }
                if (e instanceof Error error) {
                    throw error;
                }
            }
        }

        /** Reads chunk {@code done} of the group from the response at {@code pos} and hands it out; returns the new position. */
        private long next(InputStream in, long pos) throws IOException {
            int index = group.get(done);
            ChunkInfo c = bootstrap.chunks().get(index);
            in.skipNBytes(c.offset() - pos); // a bridged gap: read and dropped
            byte[] stored = in.readNBytes(c.storedSize());
            fetchedBytes.addAndGet(c.offset() - pos + stored.length);
            if (stored.length != c.storedSize()) {
                throw new java.io.EOFException("the response ended " + (c.storedSize() - stored.length)
                        + " bytes short of chunk " + index);
            }
            hand(index, c, stored, futures.get(done));
            done++;
            return c.end();
        }

        /** Fails every chunk not handed out (a no-op for the others). */
        private void fail(RuntimeException e) {
            for (CompletableFuture<byte[]> f : futures) {
                f.completeExceptionally(e);
            }
        }
    }

    private static void closeQuietly(InputStream in) {
        if (in != null) {
            try {
                in.close();
            } catch (IOException ignored) {
                // a response we are done with
            }
        }
    }

    /** Verifies one fetched chunk, caches it and completes its future; a corrupt one fails only its readers. */
    private void hand(int index, ChunkInfo c, byte[] stored, CompletableFuture<byte[]> future) {
        try {
            byte[] data = ChunkCodec.restore(c, stored, 0);
            memory.put(c.digest(), data);
            if (disk != null) {
                disk.put(c, data);
            }
            fetchedChunks.incrementAndGet();
            planned.remove(index);
            future.complete(data);
        } catch (ImageException e) {
            LOG.log(System.Logger.Level.ERROR, "chunk " + index + " (" + c.digest() + ") from "
                    + backend.describe() + " is corrupt: " + e.getMessage());
            future.completeExceptionally(e);
        }
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
        streams.shutdownNow();
        try {
            // Nothing writes to the chunk cache after close: background fetches stop at the next chunk.
            if (!streams.awaitTermination(5, java.util.concurrent.TimeUnit.SECONDS)
                    || !readAhead.awaitTermination(5, java.util.concurrent.TimeUnit.SECONDS)) {
                LOG.log(System.Logger.Level.WARNING, "background fetches still running after 5 s at close");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        backend.close();
    }
}
