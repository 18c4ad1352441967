package dev.hostd.template;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.function.BooleanSupplier;

/** Waits for a condition, failing after a hang guard (not a timing assertion: only a stuck test ends there). */
final class TestWaits {
    private TestWaits() {}

    static void until(BooleanSupplier condition, long guardSeconds, String message) throws InterruptedException {
        long deadline = System.nanoTime() + guardSeconds * 1_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                fail(message);
            }
            Thread.sleep(5);
        }
    }
}
