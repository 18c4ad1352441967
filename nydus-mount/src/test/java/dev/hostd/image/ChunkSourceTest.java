package dev.hostd.image;

import dev.hostd.image.backend.BlobBackend;
import dev.hostd.image.backend.ChunkSource;
import dev.hostd.image.backend.FetchPolicy;
import dev.hostd.image.backend.LocalBackend;
import dev.hostd.image.cache.ChunkCache;
import dev.hostd.image.cache.MemoryCache;
import dev.hostd.image.format.Bootstrap;
import dev.hostd.image.format.ChunkInfo;
import dev.hostd.image.format.Digest;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Fetch logic against a local directory wrapped in a counting, failing or corrupting backend. */
class ChunkSourceTest {
    @TempDir
    Path tmp;
    Bootstrap image;
    Path blobs;

    @BeforeEach
    void convert() throws IOException {
        SampleImage.write(tmp.resolve("oci"), 0);
        ImageConverter.Result r = ImageConverter.convert(tmp.resolve("oci"), tmp.resolve("img"), ImageConverter.Options.defaults().withChunkSize(1 << 20));
        image = r.bootstrap();
        blobs = r.blobDir();
    }

    /** Counts requests, fails the first {@code failures}, flips a byte in reads covering {@code corruptAt}, waits on a latch. */
    static final class TestBackend implements BlobBackend {
        final LocalBackend real;
        final AtomicInteger requests = new AtomicInteger();
        /** Every range asked for, as {offset, length}. */
        final List<long[]> ranges = java.util.Collections.synchronizedList(new ArrayList<>());
        final AtomicInteger failures;
        volatile long corruptAt = -1;
        volatile CountDownLatch gate;

        TestBackend(Path dir, int failures) {
            real = new LocalBackend(dir);
            this.failures = new AtomicInteger(failures);
        }

        @Override
        public byte[] read(Digest blob, long offset, int length) throws IOException {
            requests.incrementAndGet();
            ranges.add(new long[]{offset, length});
            if (gate != null) {
                try {
                    gate.await();
                } catch (InterruptedException e) {
                    throw new IOException(e);
                }
            }
            if (failures.getAndDecrement() > 0) {
                throw new IOException("injected failure");
            }
            byte[] b = real.read(blob, offset, length);
            if (corruptAt >= offset && corruptAt < offset + length) {
                b[(int) (corruptAt - offset)] ^= 1;
            }
            return b;
        }

        @Override
        public String describe() {
            return "test backend";
        }
    }

    private ChunkSource source(TestBackend backend, ChunkCache cache) {
        return new ChunkSource(image, backend, cache, new MemoryCache(64 << 20),
                new FetchPolicy(4, 1, 4 << 20, 4 << 20, 4, Duration.ofMillis(1), Duration.ofMillis(5)));
    }

    @Test
    void concurrentReadersShareOneFetch() throws Exception {
        TestBackend backend = new TestBackend(blobs, 0);
        backend.gate = new CountDownLatch(1);
        int chunk = image.node(image.lookup("/usr/bin/tool")).chunks()[0];
        Blocked.Recording readers = new Blocked.Recording();
        try (ChunkSource source = source(backend, null); ExecutorService pool = Executors.newFixedThreadPool(8, readers)) {
            List<Future<byte[]>> reads = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                reads.add(pool.submit(() -> source.chunk(chunk)));
            }
            // Every reader parked: one at the gate with the fetch, the others (if the fetch is shared) on it.
            Blocked.awaitParked(readers.threads, 8);
            backend.gate.countDown();
            for (Future<byte[]> f : reads) {
                assertEquals(Digest.sha256(f.get()), image.chunks().get(chunk).digest());
            }
            assertEquals(1, backend.requests.get(), "eight readers, one request");
        }
    }

    @Test
    void adjacentChunksAreMergedIntoOneRequest() {
        TestBackend backend = new TestBackend(blobs, 0);
        int[] chunks = image.node(image.lookup("/usr/bin/tool")).chunks();
        try (ChunkSource source = source(backend, null)) {
            for (int c : chunks) {
                source.chunk(c);
            }
            assertEquals(1, backend.requests.get(), "four adjacent chunks (3 MiB + tail) in one range");
        }
    }

    @Test
    void transientFailuresAreRetriedAndPersistentOnesGiveEio() {
        int chunk = image.node(image.lookup("/etc/hostname")).chunks()[0];
        TestBackend flaky = new TestBackend(blobs, 3);
        try (ChunkSource source = source(flaky, null)) {
            assertEquals(image.chunks().get(chunk).digest(), Digest.sha256(source.chunk(chunk)));
            assertEquals(4, flaky.requests.get());
        }
        TestBackend down = new TestBackend(blobs, Integer.MAX_VALUE);
        try (ChunkSource source = source(down, null)) {
            ImageException e = assertThrows(ImageException.class, () -> source.chunk(chunk));
            assertEquals("EIO", e.errno());
            assertEquals(4, down.requests.get(), "bounded retries");
            down.failures.set(0);
            assertEquals(image.chunks().get(chunk).digest(), Digest.sha256(source.chunk(chunk)), "recovers");
        }
    }

    @Test
    void corruptChunkIsEioAndNeverCached() {
        ChunkCache cache = new ChunkCache(tmp.resolve("cache"), 1 << 30);
        int[] chunks = image.node(image.lookup("/usr/bin/tool")).chunks();
        ChunkInfo second = image.chunks().get(chunks[1]);
        TestBackend backend = new TestBackend(blobs, 0);
        backend.corruptAt = second.offset() + 10;
        try (ChunkSource source = source(backend, cache)) {
            source.chunk(chunks[0]); // merged request carries the corrupt neighbour: only it fails
            ImageException e = assertThrows(ImageException.class, () -> source.chunk(chunks[1]));
            assertEquals("EIO", e.errno());
            assertTrue(cache.get(second) == null);
            backend.corruptAt = -1;
            assertEquals(second.digest(), Digest.sha256(source.chunk(chunks[1])));
        }
    }

    @Test
    void diskCacheServesASecondMountWithoutTheBackend() {
        ChunkCache cache = new ChunkCache(tmp.resolve("cache"), 1 << 30);
        int chunk = image.node(image.lookup("/usr/bin/text")).chunks()[1];
        try (ChunkSource source = source(new TestBackend(blobs, 0), cache)) {
            source.chunk(chunk);
        }
        TestBackend second = new TestBackend(blobs, Integer.MAX_VALUE);
        try (ChunkSource source = source(second, new ChunkCache(tmp.resolve("cache"), 1 << 30))) {
            assertArrayEquals(Digest.sha256(source.chunk(chunk)).bytes(), image.chunks().get(chunk).digest().bytes());
            assertEquals(0, second.requests.get());
        }
    }

    @Test
    void cacheVerifiesEvictsLeastRecentlyUsedAndToleratesASecondInstance() throws Exception {
        Path dir = tmp.resolve("cache");
        ChunkCache a = new ChunkCache(dir, 3L << 20);
        ChunkCache b = new ChunkCache(dir, 3L << 20); // another process's view of the same directory
        int[] tool = image.node(image.lookup("/usr/bin/tool")).chunks();
        List<ChunkInfo> infos = new ArrayList<>();
        for (int c : tool) {
            infos.add(image.chunks().get(c));
        }
        try (ChunkSource source = source(new TestBackend(blobs, 0), null)) {
            ExecutorService pool = Executors.newFixedThreadPool(2);
            List<Future<?>> writes = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                ChunkInfo info = infos.get(i);
                byte[] data = source.chunk(tool[i]);
                writes.add(pool.submit(() -> a.put(info, data)));
                writes.add(pool.submit(() -> b.put(info, data)));
            }
            for (Future<?> w : writes) {
                w.get();
            }
            pool.shutdown();
            for (int i = 0; i < 3; i++) {
                Files.setLastModifiedTime(dir.resolve("chunks").resolve(infos.get(i).digest().hex().substring(0, 2))
                        .resolve(infos.get(i).digest().hex()), java.nio.file.attribute.FileTime.fromMillis(1_000_000L * (i + 1)));
            }
            assertTrue(b.get(infos.get(1)) != null);
            ChunkCache c = new ChunkCache(dir, 3L << 20); // a fresh scan counts both writers' files
            c.put(infos.get(3), source.chunk(tool[3])); // over the limit: the oldest (chunk 0) goes
            assertTrue(a.get(infos.get(0)) == null, "least recently used evicted");
            assertTrue(a.get(infos.get(2)) != null);
            assertTrue(a.bytes() <= 3L << 20);
            // A corrupt file is a miss, and is removed.
            Path p = dir.resolve("chunks").resolve(infos.get(2).digest().hex().substring(0, 2)).resolve(infos.get(2).digest().hex());
            byte[] bytes = Files.readAllBytes(p);
            bytes[0] ^= 1;
            Files.write(p, bytes);
            assertTrue(b.get(infos.get(2)) == null);
            assertTrue(Files.notExists(p));
        }
    }
}
