package dev.hostd.image.backend;

import java.time.Duration;

/**
 * How chunks are fetched from a backend.
 *
 * @param maxInFlight     concurrent foreground requests to the backend
 * @param prefetchInFlight concurrent prefetch requests (separate permits: prefetch never takes a foreground slot)
 * @param mergeBytes      a foreground fetch takes the blob-adjacent chunks too, up to this many stored bytes
 *                        (small: a starting function should not wait for bytes it did not ask for)
 * @param prefetchMergeBytes the same for read-ahead, which is not waited for; also the longest span of one
 *                        trace-prefetch request (which takes only traced chunks, see PrefetchPlan)
 * @param attempts        tries per request before the read fails with EIO
 * @param backoff         first retry delay; doubled per retry, capped at {@code maxBackoff}, with full jitter
 * @param maxBackoff      cap on one retry delay
 */
public record FetchPolicy(int maxInFlight, int prefetchInFlight, int mergeBytes, int prefetchMergeBytes, int attempts,
                          Duration backoff,
                          Duration maxBackoff) {
    public static FetchPolicy defaults() {
        return new FetchPolicy(8, 4, 1 << 20, 4 << 20, 5, Duration.ofMillis(100), Duration.ofSeconds(2));
    }
}
