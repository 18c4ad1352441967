package dev.hostd.vmm.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class PoolFillerTest {
    private static void awaitValue(AtomicInteger value, int expected) throws InterruptedException {
        while (value.get() != expected) {
            Thread.sleep(1);
        }
    }

    @Test
    void fillsToTheTargetAndRefillsAfterAWake() throws Exception {
        AtomicInteger pool = new AtomicInteger();
        try (PoolFiller filler = new PoolFiller("test-filler", "a thing", () -> pool.get() < 3, pool::incrementAndGet)) {
            awaitValue(pool, 3);
            pool.addAndGet(-2); // two taken
            filler.wake();
            awaitValue(pool, 3);
        }
        Thread.sleep(20);
        assertEquals(3, pool.get(), "never more than the target");
    }

    @Test
    void aFailureIsNotRetriedUntilTheNextWake() throws Exception {
        AtomicInteger attempts = new AtomicInteger();
        try (PoolFiller filler = new PoolFiller("test-filler", "a thing", () -> true, () -> {
            attempts.incrementAndGet();
            throw new IllegalStateException("host out of memory");
        })) {
            awaitValue(attempts, 1);
            Thread.sleep(50);
            assertEquals(1, attempts.get(), "a failing host is not hammered");
            filler.wake();
            awaitValue(attempts, 2);
        }
    }

    @Test
    void closeStopsTheThread() {
        PoolFiller filler = new PoolFiller("test-filler-closed", "a thing", () -> false, () -> { });
        filler.close();
        assertTrue(Thread.getAllStackTraces().keySet().stream().noneMatch(t -> t.getName().equals("test-filler-closed")),
                "the filler thread ended");
    }
}
