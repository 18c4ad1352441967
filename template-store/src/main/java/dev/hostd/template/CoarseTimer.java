package dev.hostd.template;

import java.util.Iterator;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Deadlines checked by one thread on a coarse tick. A clone waits for its guest with a timeout of
 * seconds and almost always completes within a millisecond; {@code CompletableFuture.orTimeout}
 * would schedule (and wake its timer thread for) every clone, an extra wake-up on the clone's path
 * that costs tens of microseconds on hosts whose idle CPUs halt. Here adding and cancelling a
 * deadline wake nobody unless the checker is parked with nothing pending; while deadlines are
 * pending it wakes once per tick, or at the earliest deadline if that is sooner, so a deadline
 * fires at its time (a shorter one than a tick wakes the checker when it is added).
 */
final class CoarseTimer {
    private static final System.Logger LOG = System.getLogger(CoarseTimer.class.getName());
    static final long TICK_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

    /** A pending deadline; {@link #cancel()} once what it guards has completed. */
    static final class Deadline {
        private final long atNanos;
        private final Runnable onExpiry;
        private volatile boolean cancelled;

        private Deadline(long atNanos, Runnable onExpiry) {
            this.atNanos = atNanos;
            this.onExpiry = onExpiry;
        }

        void cancel() {
            cancelled = true;
        }
    }

    private final ConcurrentLinkedQueue<Deadline> pending = new ConcurrentLinkedQueue<>();
    private final Thread checker;
    private volatile boolean parkedIdle;

    CoarseTimer(String name) {
        checker = Thread.ofPlatform().name(name).daemon().start(this::run);
    }

    /** True while the checker is parked with nothing pending (for tests of the wake-up from idle). */
    boolean idle() {
        return parkedIdle && checker.getState() == Thread.State.WAITING;
    }

    /** Runs {@code onExpiry} on the timer's thread about {@code delayNanos} from now unless cancelled first; it must be quick. */
    Deadline schedule(long delayNanos, Runnable onExpiry) {
        Deadline d = new Deadline(System.nanoTime() + delayNanos, onExpiry);
        pending.add(d);
        // parkedIdle is read after the add: a checker going idle re-reads the queue after setting it.
        // A deadline shorter than a tick (tests, a tiny configured timeout) must not wait for the tick.
        if (parkedIdle || delayNanos < TICK_NANOS) {
            LockSupport.unpark(checker);
        }
        return d;
    }

    private void run() {
        while (true) {
            if (pending.isEmpty()) {
                parkedIdle = true;
                if (pending.isEmpty()) {
                    LockSupport.park(this);
                }
                parkedIdle = false;
                continue;
            }
            long wait = TICK_NANOS, start = System.nanoTime();
            for (Deadline d : pending) {
                wait = Math.min(wait, d.atNanos - start);
            }
            if (wait > 0) {
                LockSupport.parkNanos(this, wait);
            }
            long now = System.nanoTime();
            for (Iterator<Deadline> it = pending.iterator(); it.hasNext(); ) {
                Deadline d = it.next();
                if (d.cancelled) {
                    it.remove();
                } else if (now - d.atNanos >= 0) {
                    it.remove();
                    try {
                        d.onExpiry.run();
                    } catch (Throwable t) { // one failed action must not stop every later deadline in the process
                        LOG.log(System.Logger.Level.ERROR, "a deadline's action failed", t);
                    }
                }
            }
        }
    }
}
