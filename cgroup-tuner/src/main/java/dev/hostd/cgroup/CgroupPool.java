package dev.hostd.cgroup;

import dev.hostd.vmm.pool.PoolFiller;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Sandbox cgroups made ahead and reused. Making a group is a mkdir in each hierarchy plus its
 * setup writes, and on a busy host cgroup creation and removal serialise behind the kernel's
 * cgroup mutex (RunD measured this at high start rates); a pooled group costs only the writes of
 * its limits (skipped when unchanged) and of the thread ids. A background thread keeps
 * {@code target} groups idle; a released group, once it has no threads, goes back to the pool
 * (or is removed when {@code maxIdle} are idle already).
 *
 * <p>The pool owns its container: at start it removes every group found there (moving out any
 * thread of this process first), because no sandbox outlives the hostd process that made it; a group
 * with a thread of another live process is left alone; see {@link #reconcile}.
 */
public final class CgroupPool implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(CgroupPool.class.getName());

    private final CgroupBackend backend;
    private final int target, maxIdle;
    /** Released groups go to the front (their limits are likely what the next lease asks for), new ones to the back. */
    private final ConcurrentLinkedDeque<Slot> idle = new ConcurrentLinkedDeque<>();
    private final AtomicInteger idleCount = new AtomicInteger(), leased = new AtomicInteger(), names = new AtomicInteger();
    private final AtomicLong freshCreates = new AtomicLong();
    private final PoolFiller filler;
    private volatile boolean closed;

    /** A group and the limits last written to it. */
    static final class Slot {
        final String name;
        CpuLimits limits;

        Slot(String name) {
            this.name = name;
        }
    }

    /**
     * @param target groups kept idle (0: every lease makes its group)
     * @param maxIdle released groups kept beyond that; more are removed
     */
    public CgroupPool(CgroupBackend backend, int target, int maxIdle) {
        if (target < 0 || target > 4096 || maxIdle < target || maxIdle > 65536) {
            throw CgroupException.invalid("cgroup pool", "pool size must be 0..4096 and max idle at least that (..65536), got " + target + "/" + maxIdle);
        }
        this.backend = backend;
        this.target = target;
        this.maxIdle = maxIdle;
        int removed = reconcile(Set.of());
        if (removed > 0) {
            LOG.log(System.Logger.Level.INFO, "removed {0} cgroup(s) left by an earlier hostd in {1}", removed, backend.describe());
        }
        while (idleCount.get() < target) {
            idle.add(newSlot());
            idleCount.incrementAndGet();
        }
        this.filler = target == 0 ? null : new PoolFiller("cgroup-pool", "a cgroup", () -> idleCount.get() < target, () -> {
            idle.add(newSlot());
            idleCount.incrementAndGet();
        });
    }

    public CgroupBackend backend() {
        return backend;
    }

    /**
     * Removes every group in the container not named in {@code keep} and not idle in this pool,
     * moving any thread still in it back to hostd's own group first. Returns how many were removed.
     */
    public int reconcile(Set<String> keep) {
        Set<String> pooled = Set.copyOf(idle.stream().map(s -> s.name).toList());
        int removed = 0;
        for (String g : backend.groups()) {
            if (keep.contains(g) || pooled.contains(g)) {
                continue;
            }
            int[] foreign = java.util.Arrays.stream(backend.threads(g)).filter(tid -> !ownThread(tid)).toArray();
            if (foreign.length > 0) {
                // Another live process uses this container (a second hostd with the same container name): not ours to touch.
                LOG.log(System.Logger.Level.WARNING, "cgroup {0} holds threads of another process ({1}): left alone; give each hostd its own container",
                        g, java.util.Arrays.toString(foreign));
                continue;
            }
            emptyQuietly(g);
            if (backend.remove(g)) {
                removed++;
            }
        }
        return removed;
    }

    private static boolean ownThread(int tid) {
        return java.nio.file.Files.exists(java.nio.file.Path.of("/proc/self/task/" + tid));
    }

    /** Moves every thread of group {@code g} home; a thread that ended meanwhile is no error. */
    private void emptyQuietly(String g) {
        for (int tid : backend.threads(g)) {
            try {
                backend.detach(tid);
            } catch (CgroupException e) {
                LOG.log(System.Logger.Level.DEBUG, "thread {0} left {1} on its own: {2}", tid, g, e.getMessage());
            }
        }
    }

    private Slot newSlot() {
        Slot s = new Slot("g" + names.incrementAndGet());
        backend.create(s.name);
        return s;
    }

    /** A group for sandbox {@code sandboxId} with {@code limits}; the caller owns it and closes it after the sandbox. */
    public SandboxCgroup lease(String sandboxId, CpuLimits limits) {
        if (limits == null) {
            throw CgroupException.invalid("lease cgroup", "CPU limits are required (CpuLimits.UNLIMITED for none)");
        }
        if (closed) {
            throw CgroupException.unavailable("lease cgroup", "the cgroup pool is closed");
        }
        Slot slot = idle.pollFirst();
        if (slot != null) {
            idleCount.decrementAndGet();
            if (filler != null) {
                filler.wake();
            }
        } else {
            slot = newSlot();
            freshCreates.incrementAndGet();
        }
        try {
            if (!limits.equals(slot.limits)) {
                slot.limits = null; // unknown until every write succeeded
                backend.setCpu(slot.name, limits);
                slot.limits = limits;
            }
            SandboxCgroup cgroup = new SandboxCgroup(this, slot, sandboxId, backend.cpuUsageNanos(slot.name));
            leased.incrementAndGet();
            return cgroup;
        } catch (RuntimeException e) {
            removeQuietly(slot);
            throw e;
        }
    }

    /** From {@link SandboxCgroup#close()}: the group has no threads now. */
    void release(Slot slot) {
        leased.decrementAndGet();
        if (!closed && idleCount.get() < maxIdle) {
            idle.addFirst(slot);
            idleCount.incrementAndGet();
        } else {
            backend.remove(slot.name);
            if (closed && leased.get() == 0) {
                removeContainerQuietly();
            }
        }
    }

    /** From {@link SandboxCgroup#close()}: the group is broken or gone; it is not pooled again. */
    void discard(Slot slot) {
        leased.decrementAndGet();
        removeQuietly(slot);
    }

    private void removeQuietly(Slot slot) {
        try {
            try {
                emptyQuietly(slot.name);
            } finally {
                backend.remove(slot.name);
            }
        } catch (CgroupException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot remove cgroup {0}: {1}", slot.name, e.getMessage());
        }
    }

    /** Groups idle now. */
    public int idleCount() {
        return idleCount.get();
    }

    /** Groups leased and not closed. */
    public int leasedCount() {
        return leased.get();
    }

    /** Leases that found no idle group and made one on the caller's thread. */
    public long freshCreates() {
        return freshCreates.get();
    }

    /** Stops the filler and removes the idle groups; leased groups are removed when their sandboxes close them. */
    @Override
    public void close() {
        closed = true;
        if (filler != null) {
            filler.close();
        }
        Slot s;
        while ((s = idle.poll()) != null) {
            idleCount.decrementAndGet();
            removeQuietly(s);
        }
        if (leased.get() == 0) {
            removeContainerQuietly();
        }
    }

    private void removeContainerQuietly() {
        try {
            backend.removeContainer();
        } catch (CgroupException e) {
            LOG.log(System.Logger.Level.DEBUG, "container not removed: {0}", e.getMessage());
        }
    }
}
