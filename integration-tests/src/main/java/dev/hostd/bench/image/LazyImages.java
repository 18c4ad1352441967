package dev.hostd.bench.image;

import java.nio.file.Path;

/**
 * What the benchmark needs from nydus-mount: convert an OCI layout and push it, then mount it from
 * the registry (recording a start-up trace, or prefetching one) or from a local directory.
 */
interface LazyImages {
    /** Why the lazy rows cannot run on this build, or null when they can. */
    String unavailableReason();

    /** Converts the layout's "latest" image into {@code out} and pushes it to the registry as repo:latest. */
    Prepared prepare(Path ociLayout, Path out, String registryUrl, String repo) throws Exception;

    /** A converted image: where its bootstrap/blobs are, the bytes of its blobs and bootstrap, how long converting took. */
    record Prepared(Path dir, String repo, long blobBytes, double convertSeconds, long bootstrapBytes) {}

    enum Trace { NONE, RECORD, PREFETCH }

    /**
     * Mounts the image at {@code mountpoint} reading blobs from the registry at {@code registryUrl}
     * (or from {@code prepared.dir()} when it is null), chunk cache in {@code cacheDir}. With RECORD
     * the start-up trace is kept for a later PREFETCH mount of the same image.
     */
    Mount mount(Prepared prepared, String registryUrl, Path cacheDir, Path mountpoint, Trace trace) throws Exception;

    /** A live mount; closing unmounts it and stops whatever serves it. */
    interface Mount extends AutoCloseable {
        /** Backend requests and bytes fetched so far, as the lazy image layer counts them (for the report). */
        String stats();

        /** After close: the uncompressed bytes of the chunks in the image's recorded trace (what the start touched), 0 if none. */
        long tracedBytes();

        /**
         * The bytes the mount's FUSE reads covered, each widened to {@code granularity}-aligned
         * blocks of its file (RECORD mounts keep a read log; -1 for others).
         */
        long readBytes(long granularity);

        @Override
        void close() throws Exception;
    }
}
