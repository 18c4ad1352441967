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
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns file content into chunk indexes: a chunk already known (from this conversion or from the
 * bootstraps given to dedupe against) is referenced, a new one is stored once in the new blob.
 */
final class ChunkSink implements AutoCloseable {
    /** A chunk before the blob table is final: the blob is named by digest, null for the new blob. */
    private record Pending(Digest digest, Digest blob, long blobSize, long offset, int stored, int size, int flags) {
    }

    private final Path blobDir;
    private final Path tmp;
    private final OutputStream out;
    private final MessageDigest blobDigest = Digest.newSha256();
    private final Map<Digest, Integer> byDigest = new HashMap<>();
    private final Map<Digest, Pending> known = new HashMap<>();
    private final List<Pending> chunks = new ArrayList<>();
    private long offset;
    private long reusedBytes;
    private long storedChunks;

    ChunkSink(Path blobDir, List<Bootstrap> dedupWith) throws IOException {
        this.blobDir = blobDir;
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
            ChunkCodec.Stored s = ChunkCodec.store(data, 0, len);
            out.write(s.bytes());
            blobDigest.update(s.bytes());
            p = new Pending(d, null, -1, offset, s.bytes().length, len, s.flags());
            offset += s.bytes().length;
            storedChunks++;
        }
        chunks.add(p);
        byDigest.put(d, chunks.size() - 1);
        return chunks.size() - 1;
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
            Digest blob = p.blob() == null ? newBlob : p.blob();
            long size = p.blob() == null ? offset : p.blobSize();
            Integer index = blobIndex.get(blob);
            if (index == null) {
                index = blobs.size();
                blobIndex.put(blob, index);
                blobs.add(new BlobInfo(blob, size));
            }
            infos.add(new ChunkInfo(p.digest(), index, p.offset(), p.stored(), p.size(), p.flags()));
        }
        return new Result(blobs, infos, newBlob);
    }

    @Override
    public void close() {
        try {
            out.close();
            Files.deleteIfExists(tmp);
        } catch (IOException e) {
            throw new ImageException("remove temporary blob " + tmp, "EIO", e.toString(), e);
        }
    }
}
