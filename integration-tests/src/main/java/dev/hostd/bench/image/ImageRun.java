package dev.hostd.bench.image;

/**
 * One image's start-up figures, milliseconds from "nothing on this host" to /app/ready exiting 0.
 * Lazy figures are null when the lazy rows did not run (see the pending reason in the report).
 */
record ImageRun(String image, long gzipLayerBytes, int layers,
                double fullDownloadMs, double fullUnpackMs, double fullReadyMs,
                Double lazyMountMs, Double lazyReadyMs, Long lazyBytesRead, Long tracedBytes,
                Double prefetchMountMs, Double prefetchReadyMs, Long prefetchBytesRead,
                Long nydusBlobBytes, String readyOutput, Conversion conversion) {

    /**
     * How the image was converted and what the lazy start's FUSE reads covered at page (4 KiB) and
     * 64 KiB granularity, whatever the chunk size: the lower bounds a smaller chunk would approach.
     */
    record Conversion(int chunkKib, int lz4Level, double seconds, long bootstrapBytes, long read4kBytes, long read64kBytes) {}

    Double lazyRatio() {
        return lazyReadyMs == null ? null : lazyReadyMs / fullReadyMs;
    }

    Double prefetchRatio() {
        return prefetchReadyMs == null ? null : prefetchReadyMs / fullReadyMs;
    }

    /** Bytes the lazy start downloaded, over the bytes of the whole gzip image. */
    Double fractionOfImage() {
        return lazyBytesRead == null ? null : (double) lazyBytesRead / gzipLayerBytes;
    }
}
