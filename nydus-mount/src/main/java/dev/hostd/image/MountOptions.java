package dev.hostd.image;

import dev.hostd.image.backend.FetchPolicy;

import java.nio.file.Path;

/**
 * How an image is mounted.
 *
 * @param cacheDir       the host chunk cache shared by all mounts (null: none)
 * @param cacheMaxBytes  its size limit (LRU eviction beyond)
 * @param memoryBytes    per-mount in-memory cache of verified chunks
 * @param fetch          backend concurrency, merging and retries
 * @param recordTrace    record the chunks read while mounted and store them as the image's trace at unmount
 * @param prefetch       when a trace exists, prefetch it in the background
 * @param prefetchThreads threads walking the trace
 * @param cacheSeconds   kernel entry/attr/negative timeouts (the image never changes)
 * @param logReads       debugging: keep every FUSE read's (file, offset, length), see {@link ImageMount#readLog()}
 */
public record MountOptions(Path cacheDir, long cacheMaxBytes, long memoryBytes, FetchPolicy fetch, boolean recordTrace,
                           boolean prefetch, int prefetchThreads, int cacheSeconds, boolean logReads) {
    public static MountOptions defaults() {
        return new MountOptions(null, 10L << 30, 64L << 20, FetchPolicy.defaults(), false, true, 4, 3600, false);
    }

    public MountOptions withCache(Path dir, long maxBytes) {
        return new MountOptions(dir, maxBytes, memoryBytes, fetch, recordTrace, prefetch, prefetchThreads, cacheSeconds, logReads);
    }

    public MountOptions withTrace(boolean record, boolean prefetchIt) {
        return new MountOptions(cacheDir, cacheMaxBytes, memoryBytes, fetch, record, prefetchIt, prefetchThreads, cacheSeconds, logReads);
    }

    public MountOptions withFetch(FetchPolicy policy) {
        return new MountOptions(cacheDir, cacheMaxBytes, memoryBytes, policy, recordTrace, prefetch, prefetchThreads, cacheSeconds, logReads);
    }

    /** Keeps every FUSE read for {@link ImageMount#readLog()} (memory grows with the reads: for measurements only). */
    public MountOptions withReadLog(boolean on) {
        return new MountOptions(cacheDir, cacheMaxBytes, memoryBytes, fetch, recordTrace, prefetch, prefetchThreads, cacheSeconds, on);
    }
}
