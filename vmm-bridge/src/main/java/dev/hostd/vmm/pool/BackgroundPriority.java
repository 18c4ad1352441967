package dev.hostd.vmm.pool;

import dev.hostd.vmm.VmmException;
import dev.hostd.vmm.internal.linux.Libc;

/**
 * Lowers the calling thread's CPU priority for work done ahead of time (VMs made ahead). Such work
 * has slack: the pool still holds ready shells. On a busy host it must not take a core from a clone
 * or an API request in flight, and with nice 10 the scheduler gives it about a tenth of the weight
 * of a normal thread while it still uses every idle cycle.
 */
public final class BackgroundPriority {
    public static final int NICE = 10;
    private static final System.Logger LOG = System.getLogger(BackgroundPriority.class.getName());

    private BackgroundPriority() {}

    /** Applies {@link #NICE} to the calling thread; a failure only costs latency, so it is logged. */
    public static void applyToCurrentThread() {
        try {
            Libc.setThreadNice(Libc.gettid(), NICE);
        } catch (VmmException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot lower the priority of thread {0}: {1}", Thread.currentThread().getName(), e.getMessage());
        }
    }
}
