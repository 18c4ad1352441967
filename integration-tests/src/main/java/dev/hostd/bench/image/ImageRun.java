package dev.hostd.bench.image;

/**
 * One image's start-up figures, milliseconds from "nothing on this host" to /app/ready exiting 0.
 * Lazy figures are null when the lazy rows did not run (see the pending reason in the report).
 */
record ImageRun(String image, long gzipLayerBytes, int layers,
                double fullDownloadMs, double fullUnpackMs, double fullReadyMs,
                Double lazyMountMs, Double lazyReadyMs, Long lazyBytesRead, Long tracedBytes,
                Double prefetchMountMs, Double prefetchReadyMs, Long prefetchBytesRead,
                Long nydusBlobBytes, String readyOutput) {

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
