package dev.hostd.cgroup;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The v2 backend and the pool against a temp-dir tree that answers like cgroup2 (see {@link FakeCgroup2Tree}). */
class CgroupV2FakeTreeTest {
    @TempDir
    Path root;

    private int[] rootThreads(FakeCgroup2Tree tree) {
        return java.util.Arrays.stream(CgroupV2.parseIds(tree.get(root.resolve("cgroup.threads")))).sorted().toArray();
    }

    private CgroupV2 backend(FakeCgroup2Tree tree) {
        return new CgroupV2(tree, root, "/system.slice/hostd.service", "sandboxes");
    }

    @Test
    void theContainerAndEachGroupAreThreadedWithCpuEnabled() throws Exception {
        FakeCgroup2Tree tree = new FakeCgroup2Tree(root, "cpuset cpu io memory pids", 100, 101);
        CgroupV2 v2 = backend(tree);
        assertTrue(v2.cpuController());
        assertEquals("threaded", tree.get(root.resolve("sandboxes/cgroup.type")).trim());
        assertEquals("cpu", tree.get(root.resolve("cgroup.subtree_control")).trim());
        assertEquals("cpu", tree.get(root.resolve("sandboxes/cgroup.subtree_control")).trim());
        v2.create("g1");
        assertEquals("threaded", tree.get(root.resolve("sandboxes/g1/cgroup.type")).trim());
        v2.setCpu("g1", CpuLimits.percentOfCpu(20, 50));
        assertEquals("20000 100000", tree.get(root.resolve("sandboxes/g1/cpu.max")).trim());
        assertEquals("50", tree.get(root.resolve("sandboxes/g1/cpu.weight")).trim());
        v2.setCpu("g1", CpuLimits.UNLIMITED);
        assertEquals("max 100000", tree.get(root.resolve("sandboxes/g1/cpu.max")).trim());
        assertEquals("0::/system.slice/hostd.service/sandboxes/g1", v2.procPath("g1"));
    }

    @Test
    void aThreadMovesIntoItsGroupAndBackToTheThreadRoot() throws Exception {
        FakeCgroup2Tree tree = new FakeCgroup2Tree(root, "cpu", 100, 101);
        CgroupV2 v2 = backend(tree);
        v2.create("g1");
        v2.attach("g1", 101);
        assertArrayEquals(new int[] {101}, v2.threads("g1"));
        assertArrayEquals(new int[] {100}, CgroupV2.parseIds(tree.get(root.resolve("cgroup.threads"))));
        v2.detach(101);
        assertArrayEquals(new int[0], v2.threads("g1"));
        CgroupException gone = assertThrows(CgroupException.class, () -> v2.attach("g1", 999));
        assertEquals("ESRCH", gone.errno());
    }

    @Test
    void aThreadRootWithDomainControllersIsRefusedWithTheReason() throws Exception {
        FakeCgroup2Tree tree = new FakeCgroup2Tree(root, "cpu memory", 100);
        Files.writeString(root.resolve("cgroup.subtree_control"), "memory\n");
        CgroupException e = assertThrows(CgroupException.class, () -> backend(tree));
        assertEquals("EOPNOTSUPP", e.errno());
        assertTrue(e.getMessage().contains("domain controllers"), e.getMessage());
    }

    @Test
    void withoutTheCpuControllerPlacementWorksAndLimitsAreRefused() throws Exception {
        FakeCgroup2Tree tree = new FakeCgroup2Tree(root, "hugetlb", 100);
        CgroupV2 v2 = backend(tree);
        assertFalse(v2.cpuController());
        v2.create("g1");
        v2.attach("g1", 100);
        v2.setCpu("g1", CpuLimits.UNLIMITED); // nothing to write
        CgroupException e = assertThrows(CgroupException.class, () -> v2.setCpu("g1", CpuLimits.percentOfCpu(20, 100)));
        assertTrue(e.getMessage().contains("cpu controller is not available"), e.getMessage());
    }

    @Test
    void thePoolReusesGroupsRemovesLeftoversAndLeavesNothingWhenClosed() throws Exception {
        int own = TestThreads.currentTid(); // reconcile moves only this process's threads
        FakeCgroup2Tree tree = new FakeCgroup2Tree(root, "cpu", 100, 101, own, 1);
        CgroupV2 v2 = backend(tree);
        v2.create("stale");
        v2.attach("stale", own); // a group nobody leased, one of our threads still in it
        v2.create("foreign");
        v2.attach("foreign", 1); // pid 1 is no thread of ours: another process uses this container
        try (CgroupPool pool = new CgroupPool(v2, 2, 4)) {
            assertFalse(v2.groups().contains("stale"), "reconciled away: " + v2.groups());
            assertTrue(v2.groups().contains("foreign"), "another process's group is left alone: " + v2.groups());
            v2.detach(1);
            assertEquals(1, pool.reconcile(java.util.Set.of()), "once empty it goes");
            SandboxCgroup a = pool.lease("sbx-a", CpuLimits.percentOfCpu(20, 100));
            a.bind(101);
            assertArrayEquals(new int[] {101}, a.threadIds());
            tree.addUsage(root.resolve("sandboxes").resolve(a.name()), 1500); // cpu.stat usage_usec
            assertEquals(1500 * 1_000L, a.cpuUsageNanos(), "usage_usec read and converted to ns");
            a.unbind(101);
            a.close();
            SandboxCgroup b = pool.lease("sbx-b", CpuLimits.percentOfCpu(20, 100));
            SandboxCgroup c = pool.lease("sbx-c", CpuLimits.percentOfCpu(20, 100));
            assertEquals(a.name(), b.name(), "the group released last is leased first");
            assertEquals(0, pool.freshCreates(), "no lease had to make a group");
            // The group's cpu.stat still says 1500 usec from sbx-a: sbx-b's count starts at its lease.
            assertEquals(0, b.cpuUsageNanos(), "usage is counted from the lease, not from the group's first use");
            b.bind(101);
            b.close(); // the thread is still in it: moved out, not leaked
            assertArrayEquals(java.util.stream.IntStream.of(1, 100, 101, own).sorted().toArray(), rootThreads(tree));
            c.close();
        }
        assertFalse(Files.exists(root.resolve("sandboxes")), "container removed with the pool");
    }

    @Test
    void aLeaseWhoseLimitsTheHostRefusesLeavesNoGroup() throws Exception {
        FakeCgroup2Tree tree = new FakeCgroup2Tree(root, "cpu", 100); // no cpuset controller: no cpuset.cpus file
        try (CgroupPool pool = new CgroupPool(backend(tree), 0, 0)) {
            CgroupException e = assertThrows(CgroupException.class,
                    () -> pool.lease("sbx", new CpuLimits(20_000, 100_000, 100, "0-1")));
            assertEquals("ENOENT", e.errno());
            assertTrue(e.getMessage().contains("cpuset.cpus"), e.getMessage());
            assertEquals(List.of(), pool.backend().groups());
            assertEquals(0, pool.leasedCount());
        }
    }
}
