package dev.hostd.cgroup;

import dev.hostd.vmm.machine.VcpuThreadBinding;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One sandbox's cgroup, leased from a {@link CgroupPool}: its vCPU threads are bound to it at
 * clone time (a {@link VcpuThreadBinding}, so {@link #unbind} runs on each vCPU thread before it
 * goes back to the thread pool). Pause and resume keep the threads, so they keep the group.
 * Close after the sandbox's VM is closed: the group is checked empty and goes back to the pool.
 */
public final class SandboxCgroup implements VcpuThreadBinding, AutoCloseable {
    private static final System.Logger LOG = System.getLogger(SandboxCgroup.class.getName());
    private static final String ESRCH = "ESRCH";

    private final CgroupPool pool;
    private final CgroupPool.Slot slot;
    private final String sandboxId;
    private final long usageAtLease;
    private final AtomicBoolean closed = new AtomicBoolean();

    SandboxCgroup(CgroupPool pool, CgroupPool.Slot slot, String sandboxId, long usageAtLease) {
        this.pool = pool;
        this.slot = slot;
        this.sandboxId = sandboxId;
        this.usageAtLease = usageAtLease;
    }

    public String sandboxId() {
        return sandboxId;
    }

    /** The group's name in the pool's container. */
    public String name() {
        return slot.name;
    }

    public CpuLimits limits() {
        return slot.limits;
    }

    /** Moves thread {@code tid} into this group. */
    @Override
    public void bind(int tid) {
        pool.backend().attach(slot.name, tid);
    }

    /** On the vCPU thread: back to hostd's own group. A thread that is gone is no error. */
    @Override
    public void unbind(int tid) {
        try {
            pool.backend().detach(tid);
        } catch (CgroupException e) {
            if (!ESRCH.equals(e.errno())) {
                throw e;
            }
        }
    }

    public int[] threadIds() {
        return pool.backend().threads(slot.name);
    }

    /** CPU time this sandbox's threads used since the lease, in ns. */
    public long cpuUsageNanos() {
        return pool.backend().cpuUsageNanos(slot.name) - usageAtLease;
    }

    /** What /proc/PID/task/TID/cgroup shows for a thread in this group (a suffix of its line). */
    public String procPath() {
        return pool.backend().procPath(slot.name);
    }

    /** Moves out any thread still here (there should be none once the VM closed), then returns the group. Idempotent. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        int[] left;
        try {
            left = threadIds();
        } catch (CgroupException e) {
            LOG.log(System.Logger.Level.WARNING, "cgroup {0} of sandbox {1} is gone: {2}", slot.name, sandboxId, e.getMessage());
            pool.discard(slot);
            return;
        }
        for (int tid : left) {
            LOG.log(System.Logger.Level.WARNING, "thread {0} still in cgroup {1} of sandbox {2}: moving it out", tid, slot.name, sandboxId);
            unbind(tid);
        }
        pool.release(slot);
    }
}
