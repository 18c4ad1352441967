package dev.hostd.image;

import dev.hostd.image.ChunkSourceTest.TestBackend;
import dev.hostd.image.backend.ChunkSource;
import dev.hostd.image.backend.FetchPolicy;
import dev.hostd.image.cache.MemoryCache;
import dev.hostd.image.format.Bootstrap;
import dev.hostd.image.format.ChunkInfo;
import dev.hostd.image.format.Digest;
import dev.hostd.image.trace.PrefetchPlan;
import dev.hostd.image.trace.Prefetcher;
import dev.hostd.image.trace.Trace;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Trace prefetch fetches exactly the traced chunks: requests and bytes counted at the backend. */
class PrefetcherTest {
    @TempDir
    Path tmp;
    Bootstrap image;
    Path blobs;
    /** The 8 chunks of data/big.bin: random data, stored raw, 1 MiB each, back to back in one blob. */
    int[] big;

    @BeforeEach
    void convert() throws IOException {
        SampleImage.write(tmp.resolve("oci"), 8);
        ImageConverter.Result r = ImageConverter.convert(tmp.resolve("oci"), tmp.resolve("img"), ImageConverter.Options.defaults().withChunkSize(1 << 20));
        image = r.bootstrap();
        blobs = r.blobDir();
        big = image.node(image.lookup("/data/big.bin")).chunks();
        for (int k = 1; k < big.length; k++) {
            assertEquals(info(big[k - 1]).end(), info(big[k]).offset(), "fixture: big.bin's chunks are adjacent");
        }
    }

    private ChunkInfo info(int chunk) {
        return image.chunks().get(chunk);
    }

    /** Foreground merges up to 1 MiB, prefetch and read-ahead up to 4 MiB (the defaults' shape). */
    private ChunkSource source(TestBackend backend) {
        return new ChunkSource(image, backend, null, new MemoryCache(64 << 20),
                new FetchPolicy(4, 2, 1 << 20, 4 << 20, 4, Duration.ofMillis(1), Duration.ofMillis(5)));
    }

    private static void prefetch(ChunkSource source, int... trace) throws InterruptedException {
        try (Prefetcher p = new Prefetcher(source, new Trace(source.bootstrap().digest(), trace), 2)) {
            assertTrue(p.awaitDone(30_000), "prefetch finished");
        }
    }

    @Test
    void traceOfChunks015FetchesRanges01And5Only() throws Exception {
        TestBackend backend = new TestBackend(blobs, 0);
        try (ChunkSource source = source(backend)) {
            prefetch(source, big[0], big[1], big[5]);
            List<long[]> ranges = backend.ranges.stream().sorted(java.util.Comparator.comparingLong(r -> r[0])).toList();
            assertEquals(2, ranges.size(), "one request per run");
            assertArrayEquals(new long[]{info(big[0]).offset(), info(big[0]).storedSize() + info(big[1]).storedSize()}, ranges.get(0));
            assertArrayEquals(new long[]{info(big[5]).offset(), info(big[5]).storedSize()}, ranges.get(1));
            for (int k : new int[]{2, 3, 4, 6, 7}) {
                assertFalse(source.cached(big[k]), "untraced chunk " + k + " not fetched");
            }
            for (int k : new int[]{0, 1, 5}) {
                assertTrue(source.cached(big[k]), "traced chunk " + k + " prefetched");
            }
            assertEquals(3, source.stats().fetchedChunks());
            assertEquals(3L * info(big[0]).storedSize(), source.stats().fetchedBytes(), "bytes of the traced chunks, no more");
        }
    }

    @Test
    void planFollowsTraceOrderAndCapsARunAt4MiB() {
        PrefetchPlan plan = PrefetchPlan.of(image, new int[]{big[6], big[0], big[1], big[2], big[3], big[4], big[0], big[7]},
                4 << 20, PrefetchPlan.BRIDGE_BYTES);
        assertEquals(3, plan.runs().size());
        assertArrayEquals(new int[]{big[6], big[7]}, plan.runs().get(0), "first run starts at the first traced chunk");
        assertArrayEquals(new int[]{big[0], big[1], big[2], big[3]}, plan.runs().get(1), "4 MiB cap");
        assertArrayEquals(new int[]{big[4]}, plan.runs().get(2));
        assertEquals(7, plan.chunks().length, "a chunk read twice is fetched once");
    }

    @Test
    void aSmallGapIsBridgedAndItsBytesDropped() throws Exception {
        int[] tool = image.node(image.lookup("/usr/bin/tool")).chunks();
        int text0 = image.node(image.lookup("/usr/bin/text")).chunks()[0];
        ChunkInfo tail = info(tool[3]); // the 17-byte tail of tool, between tool[2] and text[0] in the blob
        assertEquals(info(tool[2]).end(), tail.offset(), "fixture: tool's chunks are adjacent");
        assertEquals(tail.end(), info(text0).offset(), "fixture: text follows tool");
        assertTrue(tail.storedSize() <= PrefetchPlan.BRIDGE_BYTES);
        TestBackend backend = new TestBackend(blobs, 0);
        try (ChunkSource source = source(backend)) {
            prefetch(source, tool[2], text0);
            assertEquals(1, backend.requests.get(), "one request across the small gap");
            assertArrayEquals(new long[]{info(tool[2]).offset(), info(text0).end() - info(tool[2]).offset()}, backend.ranges.getFirst());
            assertTrue(source.cached(tool[2]) && source.cached(text0));
            assertFalse(source.cached(tool[3]), "the gap's chunk is not delivered");
        }
        // A gap of a whole 1 MiB chunk is not bridged: two requests, the gap never read.
        TestBackend second = new TestBackend(blobs, 0);
        try (ChunkSource source = source(second)) {
            prefetch(source, big[2], big[4]);
            assertEquals(2, second.requests.get());
            assertEquals(2L * info(big[2]).storedSize(), source.stats().fetchedBytes());
        }
    }

    @Test
    void readAheadAndForegroundMergeLeaveTracedChunksToThePrefetcher() throws Exception {
        TestBackend backend = new TestBackend(blobs, 0);
        try (ChunkSource source = new ChunkSource(image, backend, null, new MemoryCache(64 << 20),
                new FetchPolicy(4, 2, 4 << 20, 4 << 20, 4, Duration.ofMillis(1), Duration.ofMillis(5)))) {
            source.expect(new int[]{big[0], big[1], big[5]}); // as a prefetcher that has not started yet
            // A foreground miss of a traced chunk merges its traced neighbour, not the untraced 2..4.
            assertEquals(info(big[0]).digest(), Digest.sha256(source.chunk(big[0])));
            assertEquals(1, backend.requests.get());
            assertArrayEquals(new long[]{info(big[0]).offset(), 2L * info(big[0]).storedSize()}, backend.ranges.getFirst());
            // Read-ahead of a traced chunk is left to the prefetcher ...
            source.readAhead(big[5]);
            Thread.sleep(200); // a read-ahead, had one been queued, would have asked the backend by now
            assertEquals(1, backend.requests.get(), "no read-ahead for a traced chunk");
            assertFalse(source.cached(big[5]));
            // ... and happens again once the prefetch is over.
            source.forgetExpected();
            source.readAhead(big[5]);
            for (long end = System.nanoTime() + 20_000_000_000L; !source.cached(big[5]) && System.nanoTime() - end < 0; ) {
                Thread.sleep(5); // a hang guard for the read-ahead thread
            }
            assertTrue(source.cached(big[5]));
            assertEquals(2, backend.requests.get());
        }
    }

    @Test
    void whileAPrefetchRunsAnUntracedReadFetchesNoGuesses() throws Exception {
        TestBackend backend = new TestBackend(blobs, 0);
        try (ChunkSource source = new ChunkSource(image, backend, null, new MemoryCache(64 << 20),
                new FetchPolicy(4, 2, 4 << 20, 4 << 20, 4, Duration.ofMillis(1), Duration.ofMillis(5)))) {
            source.expect(new int[]{big[0], big[5]}); // as a prefetcher that has not started yet
            // An untraced chunk comes alone: not merged with the untraced 3 and 4, only a traced neighbour would join.
            assertEquals(info(big[2]).digest(), Digest.sha256(source.chunk(big[2])));
            assertEquals(1, backend.requests.get());
            assertArrayEquals(new long[]{info(big[2]).offset(), info(big[2]).storedSize()}, backend.ranges.getFirst());
            // Untraced read-ahead is off too while the prefetch runs.
            source.readAhead(big[3]);
            Thread.sleep(200); // a read-ahead, had one been queued, would have asked the backend by now
            assertEquals(1, backend.requests.get(), "no read-ahead while prefetching");
            // A traced neighbour does join: chunk 4 (untraced) fetched with 5 (traced), not 6 and 7.
            assertEquals(info(big[4]).digest(), Digest.sha256(source.chunk(big[4])));
            assertArrayEquals(new long[]{info(big[4]).offset(), 2L * info(big[4]).storedSize()}, backend.ranges.get(1));
            for (long end = System.nanoTime() + 20_000_000_000L; !source.cached(big[5]) && System.nanoTime() - end < 0; ) {
                Thread.sleep(5); // a hang guard: the rest of a response is read on a background thread
            }
            assertTrue(source.cached(big[5]));
            assertFalse(source.cached(big[6]));
            // Once the prefetch is over, a miss merges and reads ahead as usual.
            source.forgetExpected();
            source.chunk(big[6]);
            assertEquals(info(big[6]).offset(), backend.ranges.get(2)[0]);
            assertTrue(backend.ranges.get(2)[1] >= 2L * info(big[6]).storedSize(), "merged with 7 and what follows it in the blob");
        }
    }

    @Test
    void aForegroundReadJoinsTheRunningPrefetch() throws Exception {
        TestBackend backend = new TestBackend(blobs, 0);
        backend.gate = new CountDownLatch(1);
        Blocked.Recording reader = new Blocked.Recording();
        try (ChunkSource source = source(backend); ExecutorService pool = Executors.newSingleThreadExecutor(reader);
             Prefetcher p = new Prefetcher(source, new Trace(image.digest(), new int[]{big[0], big[1]}), 2)) {
            for (long end = System.nanoTime() + 20_000_000_000L; backend.requests.get() == 0 && System.nanoTime() - end < 0; ) {
                Thread.sleep(5); // a hang guard
            }
            assertEquals(1, backend.requests.get(), "the prefetch request is waiting at the gate");
            Future<byte[]> read = pool.submit(() -> source.chunk(big[1]));
            Blocked.awaitParked(reader.threads, 1); // on the prefetch's in-flight chunk (or, if it missed it, at the gate)
            backend.gate.countDown();
            assertEquals(info(big[1]).digest(), Digest.sha256(read.get()));
            assertTrue(p.awaitDone(30_000));
            assertEquals(1, backend.requests.get(), "one request for the prefetch and the reader");
        }
    }
}
