package dev.hostd.template;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class CoarseTimerTest {
    private static final long HANG_GUARD_SECONDS = 30;

    @Test
    void anExpiredDeadlineRunsItsActionAndACancelledOneDoesNot() throws Exception {
        CoarseTimer timer = new CoarseTimer("test-deadlines");
        AtomicInteger cancelledRan = new AtomicInteger();
        CountDownLatch fired = new CountDownLatch(1);
        // Scheduled first with the earlier deadline: the sweep that fires the second has passed it already.
        timer.schedule(TimeUnit.MILLISECONDS.toNanos(1), cancelledRan::incrementAndGet).cancel();
        timer.schedule(TimeUnit.MILLISECONDS.toNanos(2), fired::countDown);
        assertTrue(fired.await(HANG_GUARD_SECONDS, TimeUnit.SECONDS), "the deadline never fired");
        assertEquals(0, cancelledRan.get(), "a cancelled deadline ran its action");
    }

    @Test
    void aDeadlineAddedWhileTheCheckerIsIdleWakesIt() throws Exception {
        CoarseTimer timer = new CoarseTimer("test-deadlines");
        CountDownLatch first = new CountDownLatch(1);
        timer.schedule(0, first::countDown);
        assertTrue(first.await(HANG_GUARD_SECONDS, TimeUnit.SECONDS));
        TestWaits.until(timer::idle, HANG_GUARD_SECONDS, "the checker never went idle with nothing pending");
        CountDownLatch second = new CountDownLatch(1);
        // Longer than a tick: only the idle checker's wake-up (not the short-deadline one) can fire it.
        timer.schedule(CoarseTimer.TICK_NANOS + TimeUnit.MILLISECONDS.toNanos(1), second::countDown);
        assertTrue(second.await(HANG_GUARD_SECONDS, TimeUnit.SECONDS), "a deadline added to an idle checker never fired");
    }

    @Test
    void aShortDeadlineFiresWhileALongOneWaits() throws Exception {
        CoarseTimer timer = new CoarseTimer("test-deadlines");
        CountDownLatch slow = new CountDownLatch(1), quick = new CountDownLatch(1);
        timer.schedule(TimeUnit.SECONDS.toNanos(HANG_GUARD_SECONDS * 2), slow::countDown); // the checker now parks a tick
        timer.schedule(0, quick::countDown);
        assertTrue(quick.await(HANG_GUARD_SECONDS, TimeUnit.SECONDS), "the short deadline never fired");
        assertEquals(1, slow.getCount(), "the long deadline fired early");
    }

    @Test
    void aFailingActionDoesNotStopTheOthers() throws Exception {
        CoarseTimer timer = new CoarseTimer("test-deadlines");
        CountDownLatch fired = new CountDownLatch(1);
        timer.schedule(0, () -> {
            throw new IllegalStateException("expected by the test");
        });
        timer.schedule(TimeUnit.MILLISECONDS.toNanos(1), fired::countDown);
        assertTrue(fired.await(HANG_GUARD_SECONDS, TimeUnit.SECONDS), "the second deadline never fired");
    }
}
