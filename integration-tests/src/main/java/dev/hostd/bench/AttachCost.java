package dev.hostd.bench;

import dev.hostd.cgroup.CgroupBackend;
import dev.hostd.cgroup.CgroupPool;
import dev.hostd.cgroup.CpuLimits;
import dev.hostd.cgroup.SandboxCgroup;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.LockSupport;

/**
 * What putting a sandbox's vCPU thread into its cgroup costs, three ways, on the host's real
 * hierarchy: a pooled group with unchanged limits (the steady state: lease + one write per
 * hierarchy), a pooled group whose limits change (plus the limit writes), and the baseline, a
 * group made fresh for the sandbox (mkdir in each hierarchy, cpuset set-up, limits, attach).
 * Release and removal are not timed. A parked platform thread stands in for the vCPU thread.
 */
final class AttachCost {
    private AttachCost() {}

    record Result(Stats pooled, Stats pooledNewLimits, Stats fresh, Stats freshRemove) {}

    static Result measure(CgroupBackend backend, int n) {
        CompletableFuture<Integer> tidF = new CompletableFuture<>();
        Thread vcpu = Thread.ofPlatform().daemon(true).name("bench-vcpu").start(() -> {
            tidF.complete(currentTid());
            while (!Thread.currentThread().isInterrupted()) {
                LockSupport.park();
            }
        });
        int tid = tidF.join();
        CpuLimits a = CpuLimits.percentOfCpu(20, 100), b = CpuLimits.percentOfCpu(30, 200);
        try (CgroupPool pool = new CgroupPool(backend, 64, 128)) {
            for (int i = 0; i < 200; i++) { // warm the JIT and the pool's path
                try (SandboxCgroup cg = pool.lease("warm", a)) {
                    cg.bind(tid);
                    cg.unbind(tid);
                }
            }
            double[] pooled = new double[n], changed = new double[n], fresh = new double[n], remove = new double[n];
            for (int i = 0; i < n; i++) {
                long t0 = System.nanoTime();
                SandboxCgroup cg = pool.lease("sbx-" + i, a);
                cg.bind(tid);
                pooled[i] = (System.nanoTime() - t0) / 1e6;
                cg.unbind(tid);
                cg.close();
            }
            for (int i = 0; i < n; i++) {
                long t0 = System.nanoTime();
                SandboxCgroup cg = pool.lease("sbx-" + i, i % 2 == 0 ? b : a);
                cg.bind(tid);
                changed[i] = (System.nanoTime() - t0) / 1e6;
                cg.unbind(tid);
                cg.close();
            }
            for (int i = 0; i < n; i++) {
                String name = "fresh-" + i;
                long t0 = System.nanoTime();
                backend.create(name);
                backend.setCpu(name, a);
                backend.attach(name, tid);
                fresh[i] = (System.nanoTime() - t0) / 1e6;
                backend.detach(tid);
                long r0 = System.nanoTime();
                backend.remove(name);
                remove[i] = (System.nanoTime() - r0) / 1e6;
            }
            return new Result(Stats.of(pooled), Stats.of(changed), Stats.of(fresh), Stats.of(remove));
        } finally {
            vcpu.interrupt();
        }
    }

    static int currentTid() {
        try {
            return Integer.parseInt(java.nio.file.Path.of("/proc/thread-self").toRealPath().getFileName().toString());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
