package dev.hostd.vmm.machine;

import dev.hostd.vmm.DensityKnobs;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Platform threads for vCPUs, reused across VMs. Starting a JVM platform thread costs about half
 * a millisecond here, a quarter of a whole clone, so a vCPU takes an idle thread when there is one
 * and a thread whose VM stopped waits a while for the next VM. A few spares are started in the
 * background so that a burst of clones does not pay for thread creation either.
 */
final class VcpuThreads {
    static final VcpuThreads SHARED = new VcpuThreads(4, 64, 60);
    /** Enough for the exit path; 2,000 idle vCPU threads must stay cheap. 256 KiB unless {@link DensityKnobs#VCPU_STACK_KIB} says otherwise. */
    private static final long STACK_BYTES = (long) DensityKnobs.CURRENT.vcpuStackKib() << 10;

    private final SynchronousQueue<Runnable> handoff = new SynchronousQueue<>();
    private final AtomicInteger idle = new AtomicInteger();
    /** Spare threads created but not yet waiting at the handoff. */
    private final AtomicInteger starting = new AtomicInteger();
    private final AtomicBoolean spawnerRunning = new AtomicBoolean();
    private final AtomicInteger counter = new AtomicInteger();
    private final int spares;
    private final int maxIdle;
    private final long idleSeconds;

    VcpuThreads(int spares, int maxIdle, long idleSeconds) {
        this.spares = spares;
        this.maxIdle = maxIdle;
        this.idleSeconds = idleSeconds;
    }

    /** Runs {@code task} on an idle vCPU thread, or a new one if none is idle. */
    void start(Runnable task) {
        if (!handoff.offer(task)) {
            newThread(task, false);
        }
        topUpSpares();
    }

    /** Starts spares in the background until {@code spares} threads are idle or on their way; never blocks the caller. */
    private void topUpSpares() {
        if (idle.get() + starting.get() < spares && spawnerRunning.compareAndSet(false, true)) {
            Thread.ofPlatform().daemon(true).name("vcpu-spawner").start(() -> {
                try {
                    while (idle.get() + starting.get() < spares) {
                        starting.incrementAndGet();
                        newThread(null, true);
                    }
                } finally {
                    spawnerRunning.set(false);
                }
            });
        }
    }

    private void newThread(Runnable first, boolean spare) {
        Thread.ofPlatform().daemon(true).stackSize(STACK_BYTES).name("vcpu-pool-" + counter.incrementAndGet())
                .start(() -> work(first, spare));
    }

    private void work(Runnable first, boolean spare) {
        String poolName = Thread.currentThread().getName();
        Runnable task = first;
        while (true) {
            if (task != null) {
                try {
                    task.run();
                } finally {
                    Thread.currentThread().setName(poolName);
                }
            }
            int nowIdle = idle.incrementAndGet();
            if (spare) {
                starting.decrementAndGet();
                spare = false;
            }
            if (nowIdle > maxIdle) {
                idle.decrementAndGet();
                return;
            }
            try {
                task = handoff.poll(idleSeconds, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                task = null;
            } finally {
                idle.decrementAndGet();
            }
            if (task == null) {
                return;
            }
        }
    }
}
