package dev.hostd.template;

import java.time.Instant;

/** Wall-clock time as the identity page carries it. */
final class Clock {
    private Clock() {}

    static long nowNanos() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }
}
