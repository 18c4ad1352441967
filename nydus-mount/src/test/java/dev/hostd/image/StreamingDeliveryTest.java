package dev.hostd.image;

import dev.hostd.image.backend.BlobBackend;
import dev.hostd.image.backend.ChunkSource;
import dev.hostd.image.backend.FetchPolicy;
import dev.hostd.image.backend.LocalBackend;
import dev.hostd.image.cache.MemoryCache;
import dev.hostd.image.format.Bootstrap;
import dev.hostd.image.format.ChunkInfo;
import dev.hostd.image.format.Digest;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A merged fetch hands each chunk out as its bytes arrive, and a cut-off response resumes where it stopped. */
class StreamingDeliveryTest {
    @TempDir
    Path tmp;
    Bootstrap image;
    int[] big;

    /** Serves the blob's bytes as a stream that stops after {@code pauseAfter} bytes until {@code gate} opens (or ends there). */
    static class StreamBackend implements BlobBackend {
        final LocalBackend real;
        final List<long[]> ranges = Collections.synchronizedList(new ArrayList<>());
        volatile long pauseAfter = -1;
        volatile CountDownLatch gate;
        volatile boolean cutOff;
        volatile RuntimeException tailFailure;

        StreamBackend(Path dir) {
            real = new LocalBackend(dir);
        }

        @Override
        public byte[] read(Digest blob, long offset, int length) throws IOException {
            return real.read(blob, offset, length);
        }

        @Override
        public InputStream open(Digest blob, long offset, int length) throws IOException {
            ranges.add(new long[]{offset, length});
            byte[] all = real.read(blob, offset, length);
            long cut = pauseAfter;
            if (cut < 0 || cut >= length) {
                return new ByteArrayInputStream(all);
            }
            pauseAfter = -1; // only the first response pauses or is cut
            InputStream head = new ByteArrayInputStream(all, 0, (int) cut);
            InputStream rest = new InputStream() {
                private InputStream tail;

                private InputStream tail() throws IOException {
                    if (tail == null) {
                        if (cutOff) {
                            throw new IOException("connection reset (injected)");
                        }
                        try {
                            gate.await();
                        } catch (InterruptedException e) {
                            throw new IOException(e);
                        }
                        if (tailFailure != null) {
                            throw tailFailure;
                        }
                        tail = new ByteArrayInputStream(all, (int) cut, all.length - (int) cut);
                    }
                    return tail;
                }

                @Override
                public int read() throws IOException {
                    return tail().read();
                }

                @Override
                public int read(byte[] b, int off, int len) throws IOException {
                    return tail().read(b, off, len);
                }
            };
            return new SequenceInputStream(head, rest);
        }

        @Override
        public String describe() {
            return "stream backend";
        }
    }

    @BeforeEach
    void convert() throws IOException {
        SampleImage.write(tmp.resolve("oci"), 8);
        image = ImageConverter.convert(tmp.resolve("oci"), tmp.resolve("img"), ImageConverter.Options.defaults().withChunkSize(1 << 20)).bootstrap();
        big = image.node(image.lookup("/data/big.bin")).chunks();
    }

    private ChunkInfo info(int chunk) {
        return image.chunks().get(chunk);
    }

    private ChunkSource source(StreamBackend backend) {
        return new ChunkSource(image, backend, null, new MemoryCache(64 << 20),
                new FetchPolicy(4, 2, 4 << 20, 4 << 20, 3, Duration.ofMillis(1), Duration.ofMillis(5)));
    }

    @Test
    void theFirstChunkIsHandedOutBeforeTheRestOfTheRangeArrives() throws Exception {
        StreamBackend backend = new StreamBackend(tmp.resolve("img/blobs"));
        backend.gate = new CountDownLatch(1);
        backend.pauseAfter = info(big[0]).storedSize(); // the response stalls right after chunk 0
        Blocked.Recording secondReader = new Blocked.Recording();
        try (ChunkSource source = source(backend); ExecutorService pool = Executors.newSingleThreadExecutor();
             ExecutorService second = Executors.newSingleThreadExecutor(secondReader)) {
            // The stall holds the rest of the response until the gate opens, so this would hang
            // (20 s guard) if the reader waited for the merged 4 MiB.
            byte[] data = pool.submit(() -> source.chunk(big[0])).get(20, TimeUnit.SECONDS);
            assertEquals(info(big[0]).digest(), Digest.sha256(data));
            assertEquals(1, backend.ranges.size());
            assertEquals(4L * info(big[0]).storedSize(), backend.ranges.getFirst()[1], "one request merged four chunks");
            assertFalse(source.cached(big[1]), "chunk 1 has not arrived yet");
            Future<byte[]> next = second.submit(() -> source.chunk(big[1]));
            Blocked.awaitParked(secondReader.threads, 1); // on the running fetch's future for chunk 1
            assertFalse(next.isDone());
            backend.gate.countDown();
            assertEquals(info(big[1]).digest(), Digest.sha256(next.get(20, TimeUnit.SECONDS)));
            assertEquals(1, backend.ranges.size(), "chunk 1 came with the same request");
            for (long end = System.nanoTime() + 20_000_000_000L; !source.cached(big[3]) && System.nanoTime() - end < 0; ) {
                Thread.sleep(5); // a hang guard for the background reader
            }
            assertTrue(source.cached(big[3]));
            assertEquals(4, source.stats().fetchedChunks());
        }
    }

    @Test
    void aCutOffResponseResumesAtTheFirstChunkNotHandedOut() throws InterruptedException {
        StreamBackend backend = new StreamBackend(tmp.resolve("img/blobs"));
        backend.cutOff = true;
        backend.pauseAfter = info(big[0]).storedSize() + info(big[1]).storedSize() / 2; // dies inside chunk 1
        try (ChunkSource source = source(backend)) {
            assertEquals(info(big[0]).digest(), Digest.sha256(source.chunk(big[0])));
            for (long end = System.nanoTime() + 20_000_000_000L; !source.cached(big[3]) && System.nanoTime() - end < 0; ) {
                Thread.sleep(5); // a hang guard: the rest is read, and retried, on a background thread
            }
            assertTrue(source.cached(big[1]) && source.cached(big[3]), "the retry brought the rest");
            assertEquals(2, backend.ranges.size());
            assertArrayEquals(new long[]{info(big[1]).offset(), 3L * info(big[1]).storedSize()}, backend.ranges.get(1),
                    "the retry asks from chunk 1, not again from chunk 0");
            assertEquals(info(big[2]).digest(), Digest.sha256(source.chunk(big[2])));
            assertEquals(2, backend.ranges.size(), "nothing fetched twice");
        }
    }

    @Test
    void aRangeThatNeverArrivesFailsEveryChunkNotHandedOutWithEio() {
        StreamBackend backend = new StreamBackend(tmp.resolve("img/blobs")) {
            @Override
            public InputStream open(Digest blob, long offset, int length) throws IOException {
                ranges.add(new long[]{offset, length});
                return new ByteArrayInputStream(new byte[0]); // every response empty
            }
        };
        try (ChunkSource source = source(backend)) {
            ImageException e = assertThrows(ImageException.class, () -> source.chunk(big[0]));
            assertEquals("EIO", e.errno());
            assertTrue(e.getMessage().contains("3 attempts"), e.getMessage());
            assertEquals(3, backend.ranges.size(), "bounded retries");
            assertFalse(source.cached(big[1]));
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS) // a reader left waiting would otherwise hang the executor's close
    void anUnexpectedFailureReadingTheTailFailsItsWaitingReadersInsteadOfLeavingThemWaiting() throws Exception {
        StreamBackend backend = new StreamBackend(tmp.resolve("img/blobs"));
        backend.gate = new CountDownLatch(1);
        backend.tailFailure = new IllegalStateException("not an IOException (injected)");
        backend.pauseAfter = info(big[0]).storedSize(); // chunk 0 is handed out; the tail fails when the gate opens
        Blocked.Recording secondReader = new Blocked.Recording();
        try (ChunkSource source = source(backend); ExecutorService second = Executors.newSingleThreadExecutor(secondReader)) {
            assertEquals(info(big[0]).digest(), Digest.sha256(source.chunk(big[0])));
            Future<byte[]> next = second.submit(() -> source.chunk(big[1]));
            Blocked.awaitParked(secondReader.threads, 1); // on the running fetch's future for chunk 1
            backend.gate.countDown();
            // A future left open would make this wait forever (20 s guard).
            ExecutionException e = assertThrows(ExecutionException.class, () -> next.get(20, TimeUnit.SECONDS));
            ImageException cause = assertInstanceOf(ImageException.class, e.getCause());
            assertEquals("EIO", cause.errno());
            assertTrue(cause.getMessage().contains("injected"), cause.getMessage());
        }
    }
}
