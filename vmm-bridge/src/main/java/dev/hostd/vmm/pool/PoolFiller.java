package dev.hostd.vmm.pool;

import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * The background thread that keeps a pool of things made ahead (VMs, cgroups) topped up. While
 * {@code wanted} says the pool is short it calls {@code makeOne}; otherwise it parks until
 * {@link #wake()}. A failure to make one is logged and not retried until the next wake, so a host
 * out of memory or file descriptors is not hammered; the caller's own attempt reports the error.
 * The thread runs at {@link BackgroundPriority}: the pool has slack, the requests it serves do not.
 */
public final class PoolFiller implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(PoolFiller.class.getName());

    private final Thread thread;
    private final BooleanSupplier wanted;
    private final Runnable makeOne;
    private final String what;
    private volatile boolean closed;

    /** Starts the filler thread {@code name}; {@code what} names one thing in log lines ("a VM"). */
    public PoolFiller(String name, String what, BooleanSupplier wanted, Runnable makeOne) {
        this.wanted = wanted;
        this.makeOne = makeOne;
        this.what = what;
        this.thread = Thread.ofPlatform().daemon(true).name(name).start(this::run);
    }

    /** Asks the filler to look again (something was taken from the pool). */
    public void wake() {
        LockSupport.unpark(thread);
    }

    private void run() {
        BackgroundPriority.applyToCurrentThread();
        while (!closed) {
            if (wanted.getAsBoolean()) {
                try {
                    makeOne.run();
                    continue;
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.WARNING, "cannot make {0} ahead: {1}", what, e.getMessage());
                }
            }
            LockSupport.park(this);
        }
    }

    /** Stops the thread and waits for a make in progress to finish. */
    @Override
    public void close() {
        closed = true;
        LockSupport.unpark(thread);
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
