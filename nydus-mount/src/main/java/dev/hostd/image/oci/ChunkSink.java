package dev.hostd.image.oci;

import dev.hostd.image.ImageException;
import dev.hostd.image.format.BlobInfo;
import dev.hostd.image.format.Bootstrap;
import dev.hostd.image.format.ChunkCodec;
import dev.hostd.image.format.ChunkInfo;
import dev.hostd.image.format.Digest;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Turns file content into chunk indexes: a chunk already known (from this conversion or from the
 * bootstraps given to dedupe against) is referenced, a new one is stored once in the new blob.
 * New chunks are compressed on one thread per core (LZ4HC is slow) and written to the blob in the
 * order they came, so the blob is the same whatever the thread count.
 */
final class ChunkSink implements AutoCloseable {
    /** A chunk before the blob table is final: blob null for the new blob, whose offset is known once written. */
    private static final class Pending {
        final Digest digest;
        final Digest blob;
        final long blobSize;
        long offset;
        int stored;
        final int size;
        int flags;

        Pending(Digest digest, Digest blob, long blobSize, long offset, int stored, int size, int flags) {
            this.digest = digest;
            this.blob = blob;
            this.blobSize = blobSize;
            this.offset = offset;
            this.stored = stored;
            this.size = size;
            this.flags = flags;
        }
    }

    private record Compressing(Pending chunk, Future<ChunkCodec.Stored> stored) {
    }

    private final Path blobDir;
    private final Path tmp;
    private final OutputStream out;
    private final int level;
    private final MessageDigest blobDigest = Digest.newSha256();
    private final Map<Digest, Integer> byDigest = new HashMap<>();
    private final Map<Digest, Pending> known = new HashMap<>();
    private final List<Pending> chunks = new ArrayList<>();
    private final ExecutorService compressors;
    private final int window;
    private final ArrayDeque<Compressing> queue = new ArrayDeque<>();
    private long offset;
    private long reusedBytes;
    private long storedChunks;

    ChunkSink(Path blobDir, List<Bootstrap> dedupWith, int level) throws IOException {
        this.blobDir = blobDir;
        this.level = level;
        int threads = Runtime.getRuntime().availableProcessors();
        this.window = 4 * threads; // chunks compressing at once: bounds memory to window × chunk size
        this.compressors = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "chunk-compress");
            t.setDaemon(true);
            return t;
        });
        Files.createDirectories(blobDir.resolve("sha256"));
        this.tmp = Files.createTempFile(blobDir, ".blob-", ".tmp");
        this.out = Files.newOutputStream(tmp);
        for (Bootstrap b : dedupWith) {
            for (ChunkInfo c : b.chunks()) {
                BlobInfo blob = b.blobs().get(c.blob());
                known.putIfAbsent(c.digest(), new Pending(c.digest(), blob.digest(), blob.size(), c.offset(),
                        c.storedSize(), c.size(), c.flags()));
            }
        }
    }

    int add(byte[] data, int len) throws IOException {
        Digest d = Digest.sha256(data, 0, len);
        Integer existing = byDigest.get(d);
        if (existing != null) {
            reusedBytes += len;
            return existing;
        }
        Pending p = known.get(d);
        if (p != null) {
            reusedBytes += len;
        } else {
            p = new Pending(d, null, -1, -1, -1, len, 0);
            byte[] copy = Arrays.copyOf(data, len); // the caller reuses its buffer
            queue.add(new Compressing(p, compressors.submit(() -> ChunkCodec.store(copy, 0, len, level))));
            storedChunks++;
            while (queue.size() > window) {
                writeNext();
            }
        }
        chunks.add(p);
        byDigest.put(d, chunks.size() - 1);
        return chunks.size() - 1;
    }

    /** Appends the oldest compressing chunk to the blob, waiting for it. */
    private void writeNext() throws IOException {
        Compressing c = queue.poll();
        ChunkCodec.Stored s;
        try {
            s = c.stored().get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while compressing", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new IOException("compressing a chunk failed", e.getCause());
        }
        out.write(s.bytes());
        blobDigest.update(s.bytes());
        c.chunk().offset = offset;
        c.chunk().stored = s.bytes().length;
        c.chunk().flags = s.flags();
        offset += s.bytes().length;
    }

    long reusedBytes() {
        return reusedBytes;
    }

    long storedChunks() {
        return storedChunks;
    }

    record Result(List<BlobInfo> blobs, List<ChunkInfo> chunks, Digest newBlob) {
    }

    /** Names the new blob by its digest (blobs/sha256/<hex>) and builds the blob and chunk tables. */
    Result finish() throws IOException {
        while (!queue.isEmpty()) {
            writeNext();
        }
        out.close();
        Digest newBlob = null;
        if (offset > 0) {
            newBlob = Digest.of(blobDigest.digest());
            Path target = blobDir.resolve("sha256").resolve(newBlob.hex());
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } else {
            Files.deleteIfExists(tmp);
        }
        Map<Digest, Integer> blobIndex = new LinkedHashMap<>();
        List<BlobInfo> blobs = new ArrayList<>();
        List<ChunkInfo> infos = new ArrayList<>(chunks.size());
        for (Pending p : chunks) {
            Digest blob = p.blob == null ? newBlob : p.blob;
            long size = p.blob == null ? offset : p.blobSize;
            Integer index = blobIndex.get(blob);
            if (index == null) {
                index = blobs.size();
                blobIndex.put(blob, index);
                blobs.add(new BlobInfo(blob, size));
            }
            infos.add(new ChunkInfo(p.digest, index, p.offset, p.stored, p.size, p.flags));
        }
        return new Result(blobs, infos, newBlob);
    }

    @Override
    public void close() {
        compressors.shutdownNow();
        try {
            out.close();
            Files.deleteIfExists(tmp);
        } catch (IOException e) {
            throw new ImageException("remove temporary blob " + tmp, "EIO", e.toString(), e);
        }
    }
}
