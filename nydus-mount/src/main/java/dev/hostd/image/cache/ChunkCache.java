package dev.hostd.image.cache;

import dev.hostd.image.ImageException;
import dev.hostd.image.format.ChunkInfo;
import dev.hostd.image.format.Digest;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.LinkOption;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The host chunk cache, shared by every mount and image (and by several processes): uncompressed
 * chunks in {@code <dir>/chunks/<2 hex>/<64 hex>}, keyed by their SHA-256. Written to a temp file
 * and renamed, so a reader sees a whole chunk or none; verified on every read, so a corrupt or
 * torn file is a miss (and removed), never wrong bytes. A file's mtime is its last use; when the
 * total passes the limit, the least recently used files are removed, under an advisory file lock
 * so two processes do not evict at once.
 */
public final class ChunkCache {
    private static final System.Logger LOG = System.getLogger(ChunkCache.class.getName());
    /** A hit refreshes the last-use time at most this often (a metadata write per read would cost more than LRU order is worth). */
    private static final long TOUCH_MILLIS = 60_000;
    private static final long STALE_TEMP_MILLIS = 10 * 60_000;

    private final Path root;
    private final long maxBytes;
    private static final int RESCAN_EVERY = 256;
    private final AtomicLong bytes = new AtomicLong();
    private final AtomicLong puts = new AtomicLong();
    private final AtomicLong hits = new AtomicLong();
    private final AtomicLong misses = new AtomicLong();
    private final Object evictLock = new Object();

    public ChunkCache(Path dir, long maxBytes) {
        this.root = dir.resolve("chunks");
        this.maxBytes = maxBytes;
        try {
            Files.createDirectories(root);
            long total = 0;
            long now = System.currentTimeMillis();
            for (Entry e : scan()) {
                if (e.path().getFileName().toString().startsWith(".tmp-")) {
                    // Left by a crash; a live writer renames within milliseconds.
                    if (now - e.used() > STALE_TEMP_MILLIS) {
                        Files.deleteIfExists(e.path());
                    }
                } else {
                    total += e.size();
                }
            }
            bytes.set(total);
        } catch (IOException e) {
            throw new ImageException("open chunk cache " + dir, "EIO", e.toString(), e);
        }
    }

    private Path path(Digest d) {
        String hex = d.hex();
        return root.resolve(hex.substring(0, 2)).resolve(hex);
    }

    /** Whether a file for the chunk exists (not verified: a fetch planner's hint). */
    public boolean contains(ChunkInfo chunk) {
        return Files.exists(path(chunk.digest()));
    }

    /** The chunk's data, or null when absent or corrupt. */
    public byte[] get(ChunkInfo chunk) {
        Path p = path(chunk.digest());
        byte[] data;
        try {
            data = Files.readAllBytes(p);
        } catch (NoSuchFileException e) {
            misses.incrementAndGet();
            return null;
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "chunk cache: cannot read " + p + ": " + e);
            misses.incrementAndGet();
            return null;
        }
        if (data.length != chunk.size() || !Digest.sha256(data).equals(chunk.digest())) {
            LOG.log(System.Logger.Level.ERROR, "chunk cache: " + p + " does not match its digest; removed");
            delete(p);
            misses.incrementAndGet();
            return null;
        }
        touch(p);
        hits.incrementAndGet();
        return data;
    }

    private void touch(Path p) {
        try {
            long now = System.currentTimeMillis();
            if (now - Files.getLastModifiedTime(p).toMillis() > TOUCH_MILLIS) {
                Files.setLastModifiedTime(p, FileTime.fromMillis(now));
            }
        } catch (IOException ignored) {
            // evicted meanwhile by another process: the data we read is still right
        }
    }

    /** Stores verified data (the caller verified it); a failure to store is logged, not fatal. */
    public void put(ChunkInfo chunk, byte[] data) {
        Path target = path(chunk.digest());
        if (Files.exists(target)) {
            return;
        }
        try {
            Files.createDirectories(target.getParent());
            Path tmp = target.resolveSibling(".tmp-" + UUID.randomUUID());
            try {
                Files.write(tmp, data);
                try {
                    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
                } catch (AtomicMoveNotSupportedException e) {
                    throw new IOException("cache directory does not support atomic rename", e);
                }
            } finally {
                Files.deleteIfExists(tmp);
            }
            // The count covers this process's writes; a periodic rescan (inside evict) picks up other processes'.
            if (bytes.addAndGet(data.length) > maxBytes || puts.incrementAndGet() % RESCAN_EVERY == 0) {
                evict();
            }
        } catch (IOException | java.io.UncheckedIOException | java.nio.file.DirectoryIteratorException e) {
            // A verified chunk is still good to its readers: the cache only failed to keep it.
            LOG.log(System.Logger.Level.WARNING, "chunk cache: cannot store " + target + ": " + e);
        }
    }

    /** Removes least recently used chunks until the cache holds at most 90% of its limit. */
    public void evict() {
        synchronized (evictLock) {
            try (FileChannel lockFile = FileChannel.open(root.resolve(".evict.lock"), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE); FileLock lock = lockFile.tryLock()) {
                if (lock == null) {
                    return; // another process is evicting
                }
                List<Entry> entries = new ArrayList<>();
                for (Entry e : scan()) {
                    if (e.path().getFileName().toString().length() == 64) {
                        entries.add(e);
                    }
                }
                long total = entries.stream().mapToLong(Entry::size).sum();
                entries.sort(Comparator.comparingLong(Entry::used));
                long target = maxBytes / 10 * 9;
                for (Entry e : entries) {
                    if (total <= target) {
                        break;
                    }
                    delete(e.path());
                    total -= e.size();
                }
                bytes.set(total);
            } catch (IOException e) {
                LOG.log(System.Logger.Level.WARNING, "chunk cache: eviction failed: " + e);
            }
        }
    }

    private record Entry(Path path, long size, long used) {
    }

    /**
     * Every file under chunks/ with size and mtime. Another process renames and deletes files
     * while we look: a file or directory that vanishes mid-scan is skipped, never an error.
     */
    private List<Entry> scan() throws IOException {
        List<Entry> out = new ArrayList<>();
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(root)) {
            for (Path dir : dirs) {
                if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
                    continue;
                }
                try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
                    for (Path f : files) {
                        try {
                            BasicFileAttributes a = Files.readAttributes(f, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                            if (a.isRegularFile()) {
                                out.add(new Entry(f, a.size(), a.lastModifiedTime().toMillis()));
                            }
                        } catch (NoSuchFileException gone) {
                            // renamed or evicted meanwhile
                        }
                    }
                } catch (NoSuchFileException | java.nio.file.NotDirectoryException gone) {
                    // removed meanwhile
                }
            }
        }
        return out;
    }

    private static void delete(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // best effort; a later eviction tries again
        }
    }

    public long bytes() {
        return bytes.get();
    }

    public long hits() {
        return hits.get();
    }

    public long misses() {
        return misses.get();
    }
}
