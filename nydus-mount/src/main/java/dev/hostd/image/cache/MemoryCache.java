package dev.hostd.image.cache;

import dev.hostd.image.format.Digest;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A small per-mount LRU of verified chunks: FUSE reads are at most 128 KiB, so a 1 MiB chunk is
 * read about eight times in a row; this keeps it from being re-read and re-hashed each time.
 */
public final class MemoryCache {
    private final long maxBytes;
    private long bytes;
    private final LinkedHashMap<Digest, byte[]> map = new LinkedHashMap<>(64, 0.75f, true);

    public MemoryCache(long maxBytes) {
        this.maxBytes = maxBytes;
    }

    public synchronized byte[] get(Digest d) {
        return map.get(d);
    }

    public synchronized void put(Digest d, byte[] data) {
        byte[] old = map.put(d, data);
        if (old != null) {
            bytes -= old.length;
        }
        bytes += data.length;
        var it = map.entrySet().iterator();
        while (bytes > maxBytes && it.hasNext()) {
            Map.Entry<Digest, byte[]> e = it.next();
            if (e.getKey().equals(d)) {
                continue;
            }
            bytes -= e.getValue().length;
            it.remove();
        }
    }
}
