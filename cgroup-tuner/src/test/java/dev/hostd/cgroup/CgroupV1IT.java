package dev.hostd.cgroup;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The v1 backend and the pool on this host's real cgroup v1 hierarchies, with threads of this JVM. */
@Timeout(value = 60, unit = TimeUnit.SECONDS) // hang guard only
class CgroupV1IT {
    private CgroupDetection.Found found;
    private String container;
    private List<Path> containerDirs;

    @BeforeEach
    void needV1() {
        found = CgroupDetection.scan();
        assumeTrue(found.v1HasCpu(), "this host has no cgroup v1 hierarchy with the cpu controller (a cgroup v2 host: CgroupV2IT covers it)");
        assumeTrue(Files.isWritable(found.v1().getFirst().mount()), "cgroup v1 is mounted read-only here (run as root)");
        container = TestThreads.random();
        containerDirs = found.v1().stream().filter(h -> h.controllers().matches(".*(cpu|cpuacct|cpuset).*"))
                .map(h -> Path.of(h.mount() + h.home()).resolve(container)).toList();
    }

    @AfterEach
    void nothingLeft() throws Exception {
        if (containerDirs != null) {
            boolean left = TestThreads.removeLeftovers(containerDirs, "tasks");
            assertFalse(left, containerDirs + " left behind (removed now)");
        }
    }

    private CgroupPool pool(int target) {
        return new CgroupPool(CgroupDetection.open(found, container), target, target + 4);
    }

    @Test
    void aThreadIsInItsSandboxGroupWithItsLimitsAndLeavesItOnUnbind() throws Exception {
        try (CgroupPool pool = pool(2); TestThreads.Worker w = new TestThreads.Worker(false)) {
            SandboxCgroup cg = pool.lease("sbx-1", new CpuLimits(20_000, 100_000, 50, "0"));
            cg.bind(w.tid);
            for (String controller : new String[] {"cpu", "cpuacct", "cpuset"}) {
                assertTrue(TestThreads.cgroupLines(w.tid).stream().anyMatch(l -> l.matches("\\d+:" + controller + ":.*/" + container + "/" + cg.name())),
                        controller + ": " + TestThreads.cgroupLines(w.tid));
            }
            assertTrue(TestThreads.in(w.tid, cg.procPath()));
            assertArrayEquals(new int[] {w.tid}, cg.threadIds());
            Path cpuDir = containerDirs.getFirst().resolve(cg.name());
            assertEquals("20000", Files.readString(cpuDir.resolve("cpu.cfs_quota_us")).trim());
            assertEquals("100000", Files.readString(cpuDir.resolve("cpu.cfs_period_us")).trim());
            assertEquals("512", Files.readString(cpuDir.resolve("cpu.shares")).trim());
            cg.unbind(w.tid);
            assertFalse(TestThreads.in(w.tid, cg.procPath()), TestThreads.cgroupLines(w.tid).toString());
            assertArrayEquals(new int[0], cg.threadIds());
            // The filler refills the lease's slot in the background (at low priority). Wait for that before the
            // release: a group released first would bring the pool back to its target, and the filler, rightly,
            // would make none.
            assertTrue(TestThreads.eventually(() -> pool.idleCount() == 2, 30), "the filler refilled the leased slot: " + pool.idleCount());
            cg.close();
            assertEquals(3, pool.idleCount(), "the released group is pooled again, beside the filler's new one");
        }
    }

    @Test
    void aSpinningThreadLimitedTo20PercentGets20PercentOfACpu() throws Exception {
        try (CgroupPool pool = pool(1); TestThreads.Worker w = new TestThreads.Worker(true)) {
            SandboxCgroup cg = pool.lease("sbx-spin", CpuLimits.percentOfCpu(20, 100));
            FirstClaim.onCpu(found, container, false); // a loaded host must not starve the group below its quota
            cg.bind(w.tid);
            // The worker spins the whole time: it wants the CPU over all of the window, however late this thread wakes.
            long u0 = cg.cpuUsageNanos(), t0 = System.nanoTime();
            Thread.sleep(3_000);
            long used = cg.cpuUsageNanos() - u0, elapsed = System.nanoTime() - t0;
            cg.unbind(w.tid);
            cg.close();
            double share = (double) used / elapsed;
            assertEquals(0.20, share, 0.05, "CPU share of a spinning thread limited to 20% (cpuacct.usage over 3 s)");
        }
    }

    @Test
    void groupsOfAnEarlierHostdAreRemovedAtStartAndTheirThreadsMovedHome() throws Exception {
        try (TestThreads.Worker w = new TestThreads.Worker(false)) {
            CgroupBackend v1 = CgroupDetection.open(found, container);
            v1.create("left-over");
            v1.attach("left-over", w.tid);
            try (CgroupPool pool = pool(1)) {
                assertEquals(1, pool.idleCount());
                assertFalse(v1.groups().contains("left-over"), v1.groups().toString());
                assertFalse(TestThreads.in(w.tid, v1.procPath("left-over")));
            }
        }
    }

    @Test
    void limitsTheKernelRefusesAreAnErrorNamingTheFileAndLeaveNoGroup() {
        try (CgroupPool pool = pool(0)) {
            CgroupException e = assertThrows(CgroupException.class, () -> pool.lease("sbx", new CpuLimits(20_000, 100_000, 100, "1000")));
            assertEquals("ERANGE", e.errno(), "CPU 1000 is beyond this host's CPUs");
            assertTrue(e.getMessage().contains("cpuset.cpus"), e.getMessage());
            assertEquals(List.of(), pool.backend().groups());
        }
    }

    @Test
    void aThreadThatEndedIsNoErrorOnUnbindAndAnUnknownThreadCannotBeBound() throws Exception {
        try (CgroupPool pool = pool(0)) {
            SandboxCgroup cg = pool.lease("sbx", CpuLimits.UNLIMITED);
            TestThreads.Worker w = new TestThreads.Worker(false);
            cg.bind(w.tid);
            w.close();
            assertTrue(TestThreads.eventually(() -> !Files.exists(Path.of("/proc/self/task/" + w.tid))), "thread " + w.tid + " ended");
            cg.unbind(w.tid);
            CgroupException e = assertThrows(CgroupException.class, () -> cg.bind(w.tid));
            assertEquals("ESRCH", e.errno());
            cg.close();
        }
    }
}
