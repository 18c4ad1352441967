package dev.hostd.image.backend;

import java.time.Duration;

/**
 * How chunks are fetched from a backend.
 *
 * @param maxInFlight     concurrent foreground requests to the backend
 * @param prefetchInFlight concurrent prefetch requests (separate permits: prefetch never takes a foreground slot)
 * @param mergeBytes      adjacent chunks of one blob are merged into one request up to this many stored bytes
 * @param attempts        tries per request before the read fails with EIO
 * @param backoff         first retry delay; doubled per retry, capped at {@code maxBackoff}, with full jitter
 * @param maxBackoff      cap on one retry delay
 */
public record FetchPolicy(int maxInFlight, int prefetchInFlight, int mergeBytes, int attempts, Duration backoff,
                          Duration maxBackoff) {
    public static FetchPolicy defaults() {
        return new FetchPolicy(8, 2, 4 << 20, 5, Duration.ofMillis(100), Duration.ofSeconds(2));
    }
}
