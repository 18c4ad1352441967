package dev.hostd.cgroup;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The v2 backend on this host's real cgroup2 mount: the threaded subtree, single threads moved
 * through cgroup.threads, CPU time from cpu.stat. Where the cpu controller is not in the v2
 * hierarchy (v1 hosts, where it is bound to v1) the quota test is skipped with that reason; the
 * limit logic is then covered by {@link CgroupV2FakeTreeTest}.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS) // hang guard only
class CgroupV2IT {
    private CgroupDetection.Found found;
    private String container;
    private Path containerDir;

    @BeforeEach
    void needCgroup2() {
        found = CgroupDetection.scan();
        assumeTrue(found.v2Mount() != null && found.v2Path() != null, "no cgroup2 mount with this process in it");
        Path base = found.v2Path().equals("/") ? found.v2Mount() : found.v2Mount().resolve(found.v2Path().substring(1));
        assumeTrue(Files.isWritable(base.resolve("cgroup.threads")), "this process's cgroup2 group " + base + " is not writable (run as root)");
        container = TestThreads.random();
        containerDir = base.resolve(container);
    }

    @AfterEach
    void nothingLeft() throws Exception {
        if (containerDir != null) {
            boolean left = TestThreads.removeLeftovers(java.util.List.of(containerDir), "cgroup.threads");
            assertFalse(left, containerDir + " left behind (removed now)");
        }
    }

    private boolean cpuControllerInV2() throws Exception {
        Path base = containerDir.getParent();
        return java.util.List.of(Files.readString(base.resolve("cgroup.controllers")).trim().split("\\s+")).contains("cpu");
    }

    @Test
    void threadsMoveIntoThreadedGroupsAndTheirCpuTimeIsCounted() throws Exception {
        CgroupV2 v2 = CgroupDetection.openV2(found, container);
        try (CgroupPool pool = new CgroupPool(v2, 1, 2); TestThreads.Worker spin = new TestThreads.Worker(true)) {
            assertEquals("threaded", Files.readString(containerDir.resolve("cgroup.type")).trim());
            SandboxCgroup cg = pool.lease("sbx-v2", CpuLimits.UNLIMITED);
            assertEquals("threaded", Files.readString(containerDir.resolve(cg.name()).resolve("cgroup.type")).trim());
            cg.bind(spin.tid);
            assertTrue(TestThreads.cgroupLines(spin.tid).contains(cg.procPath()), TestThreads.cgroupLines(spin.tid) + " has " + cg.procPath());
            assertArrayEquals(new int[] {spin.tid}, cg.threadIds());
            // Compare the group's count with the thread's own scheduler count over the same span:
            // counters against counters, no clock. The spinner runs until it has 50 ms of CPU.
            long runAtBind = TestThreads.runtimeNanos(spin.tid);
            while (TestThreads.runtimeNanos(spin.tid) - runAtBind < 50_000_000L) {
                Thread.onSpinWait();
            }
            long runBeforeUnbind = TestThreads.runtimeNanos(spin.tid);
            cg.unbind(spin.tid);
            long usage = cg.cpuUsageNanos(); // cpu.stat usage_usec: microsecond resolution
            assertTrue(usage >= runBeforeUnbind - runAtBind - 1_000,
                    "cpu.stat counts every ns the thread ran in the group: " + usage + " < " + (runBeforeUnbind - runAtBind));
            assertFalse(TestThreads.cgroupLines(spin.tid).contains(cg.procPath()));
            cg.close();
        }
    }

    @Test
    void limitsNeedTheCpuControllerAndSayWhyNot() throws Exception {
        CgroupV2 v2 = CgroupDetection.openV2(found, container);
        try (CgroupPool pool = new CgroupPool(v2, 0, 0)) {
            if (cpuControllerInV2()) {
                SandboxCgroup cg = pool.lease("sbx", CpuLimits.percentOfCpu(20, 100));
                assertEquals("20000 100000", Files.readString(containerDir.resolve(cg.name()).resolve("cpu.max")).trim());
                cg.close();
            } else {
                CgroupException e = assertThrows(CgroupException.class, () -> pool.lease("sbx", CpuLimits.percentOfCpu(20, 100)));
                assertTrue(e.getMessage().contains("cpu controller is not available"), e.getMessage());
                assertEquals(0, pool.backend().groups().size(), "the refused lease left no group");
            }
        }
    }

    @Test
    void aSpinningThreadLimitedTo20PercentGets20PercentOfACpu() throws Exception {
        assumeTrue(cpuControllerInV2(), "the cpu controller is not in this host's cgroup2 hierarchy (bound to cgroup v1 here): "
                + "the v2 quota is covered by CgroupV2FakeTreeTest and runs here on a v2 host");
        CgroupV2 v2 = CgroupDetection.openV2(found, container);
        try (CgroupPool pool = new CgroupPool(v2, 0, 0); TestThreads.Worker w = new TestThreads.Worker(true)) {
            SandboxCgroup cg = pool.lease("sbx-spin", CpuLimits.percentOfCpu(20, 100));
            FirstClaim.onCpu(found, container, true); // a loaded host must not starve the group below its quota
            cg.bind(w.tid);
            // The worker spins the whole time: it wants the CPU over all of the window, however late this thread wakes.
            long u0 = cg.cpuUsageNanos(), t0 = System.nanoTime();
            Thread.sleep(3_000);
            long used = cg.cpuUsageNanos() - u0, elapsed = System.nanoTime() - t0;
            cg.unbind(w.tid);
            cg.close();
            assertEquals(0.20, (double) used / elapsed, 0.05, "CPU share from cpu.stat over 3 s");
        }
    }
}
