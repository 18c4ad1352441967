package dev.hostd.cgroup;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.hostd.guest.TestGuestImage;
import dev.hostd.template.Cloner;
import dev.hostd.template.Sandbox;
import dev.hostd.template.Template;
import dev.hostd.template.TemplateSpec;
import dev.hostd.template.TemplateStore;
import dev.hostd.vmm.agent.InvokeResult;
import dev.hostd.vmm.identity.Identity;
import dev.hostd.vmm.kvm.Kvm;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sandboxes cloned on /dev/kvm with their vCPU thread in a pooled cgroup: CPU share of a spinning
 * guest, placement through pause and resume, and nothing left after delete or a failed clone.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS) // hang guard only
class SandboxCgroupIT {
    static final Duration WAIT = Duration.ofSeconds(20);
    /** The guest spins this long (its own clock); the share is measured over {@link #WINDOW_MS} inside it. */
    static final int SPIN_MS = 6_000, WINDOW_MS = 3_000;
    static CgroupDetection.Found found;
    @TempDir
    static Path root;
    static Kvm kvm;
    static TemplateStore store;
    static Template template;
    static Cloner cloner;
    static CgroupPool pool;
    static String container;
    static int next;

    @BeforeAll
    static void setUp() {
        assumeTrue(Files.exists(Path.of("/dev/kvm")), "no /dev/kvm");
        found = CgroupDetection.scan();
        assumeTrue(found.v1HasCpu() || found.v2Mount() != null, "no cgroup hierarchy with the cpu controller");
        container = TestThreads.random();
        pool = new CgroupPool(CgroupDetection.open(found, container), 2, 8);
        assumeTrue(!(pool.backend() instanceof CgroupV2 v2) || v2.cpuController(), "cgroup v2 without the cpu controller");
        kvm = Kvm.open();
        store = TemplateStore.open(root, kvm, WAIT);
        template = store.build(new TemplateSpec("cgroup-it", TestGuestImage.bytes(), 16));
        cloner = new Cloner(kvm, WAIT, 16 << 10);
    }

    @AfterAll
    static void tearDown() {
        try {
            if (pool != null) {
                pool.close();
                assertEquals(List.of(), pool.backend().groups(), "no sandbox cgroup left");
            }
        } finally {
            if (store != null) {
                store.close();
            }
            if (kvm != null) {
                kvm.close();
            }
        }
    }

    static Identity identity() {
        int n = ++next;
        return new Identity(new byte[] {2, 0, 0, 0, 1, (byte) n}, new byte[] {(byte) 198, 18, 1, (byte) n}, 15,
                Identity.parseIpv4("198.18.0.1"), "cg-" + n, "cg-" + n, "tenant-cg");
    }

    static byte[] u32(int v) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array();
    }

    @Test
    void aSpinningGuestLimitedTo20PercentOfACpuGets20Percent() throws Exception {
        SandboxCgroup cg = pool.lease("spin", CpuLimits.percentOfCpu(20, 100));
        FirstClaim.onCpu(found, container); // a loaded host must not starve the group below its quota
        try (cg; Sandbox sandbox = cloner.clone(template, identity(), cg); ExecutorService caller = Executors.newSingleThreadExecutor()) {
            int tid = sandbox.vcpuThreadIds()[0];
            assertTrue(TestThreads.in(tid, cg.procPath()), "vCPU thread " + tid + ": " + TestThreads.cgroupLines(tid));
            // The share is measured over a window inside the guest's spin, so the guest wants the CPU during all of
            // it: neither the request and answer around the spin nor a late wake-up of this thread counts. A window
            // that did not end before the spin did (this thread stalled for seconds) proves nothing: spin again.
            String measured = null;
            for (int attempt = 0; attempt < 3 && measured == null; attempt++) {
                long idleUsage = cg.cpuUsageNanos();
                Future<InvokeResult> spin = caller.submit(() -> sandbox.invoke("spin", u32(SPIN_MS), Duration.ofSeconds(60)));
                // The spin has begun once the group used a whole period's quota (20 ms): an idle guest uses next to nothing.
                assertTrue(TestThreads.eventually(() -> cg.cpuUsageNanos() - idleUsage >= 20_000_000L || spin.isDone(), 30),
                        "the guest started spinning");
                long u0 = cg.cpuUsageNanos(), t0 = System.nanoTime();
                Thread.sleep(WINDOW_MS);
                long used = cg.cpuUsageNanos() - u0, elapsed = System.nanoTime() - t0;
                boolean inside = !spin.isDone();
                InvokeResult r = spin.get(60, TimeUnit.SECONDS);
                assertTrue(r.ok(), r.statusName());
                if (inside) {
                    measured = String.format("CPU share of the spinning guest: %d ms of CPU in %d ms = %.3f", used / 1_000_000,
                            elapsed / 1_000_000, (double) used / elapsed);
                    System.out.println(measured);
                    assertEquals(0.20, (double) used / elapsed, 0.05, measured);
                }
            }
            assertNotNull(measured, "no measuring window ended inside a " + SPIN_MS + " ms spin in 3 attempts");
            long privateBytes = sandbox.privateMemoryBytes();
            assertTrue(privateBytes > 0 && privateBytes < (1 << 20), "private memory of an idle test guest: " + privateBytes);
        }
    }

    @Test
    void pauseAndResumeKeepTheCgroupAndDeleteLeavesItEmpty() {
        SandboxCgroup cg = pool.lease("pause", CpuLimits.percentOfCpu(50, 200));
        int tid;
        try (cg) {
            try (Sandbox sandbox = cloner.clone(template, identity(), cg)) {
                tid = sandbox.vcpuThreadIds()[0];
                sandbox.pause();
                assertArrayEquals(new int[] {tid}, sandbox.vcpuThreadIds(), "a paused vCPU keeps its thread");
                assertTrue(TestThreads.in(tid, cg.procPath()));
                sandbox.resume();
                assertTrue(sandbox.invoke("echo", new byte[] {7}, WAIT).ok());
                // KVM starts a worker per VM (kvm-nx-lpage-recovery) from the vCPU thread's first KVM_RUN, in that thread's
                // cgroups: the sandbox's, which is where its CPU time belongs. Nothing else of hostd may be in there.
                List<String> inGroup = TestThreads.names(cg.threadIds());
                assertTrue(inGroup.contains(tid + "=vcpu-" + sandbox.id()), inGroup.toString());
                assertTrue(inGroup.stream().allMatch(t -> t.startsWith(tid + "=") || t.contains("=kvm-")), "only the VM's threads: " + inGroup);
            }
            assertArrayEquals(new int[0], cg.threadIds(), "the vCPU thread left the group before going back to the pool");
            assertFalse(TestThreads.in(tid, cg.procPath()));
        }
    }

    @Test
    void aCloneThatFailsAfterTheBindLeavesNoThreadInTheGroup() {
        // A 1 ns wait for HELLO fails almost always, but a guest can answer between resume and the first look
        // at its answer; so try a few times, and check the group is empty after every outcome.
        Cloner impatient = new Cloner(kvm, Duration.ofNanos(1), 16 << 10);
        SandboxCgroup cg = pool.lease("fail", CpuLimits.percentOfCpu(20, 100));
        RuntimeException failure = null;
        try (cg) {
            for (int attempt = 0; attempt < 20 && failure == null; attempt++) {
                try {
                    impatient.clone(template, identity(), cg).close();
                } catch (RuntimeException e) {
                    failure = e;
                }
                assertArrayEquals(new int[0], cg.threadIds(), "after attempt " + attempt);
            }
        }
        assertNotNull(failure, "no clone with a 1 ns HELLO wait failed in 20 attempts");
        assertTrue(failure.getMessage().contains("cloning sandbox"), failure.getMessage());
    }

    @Test
    void aBindTheHostRefusesFailsTheCloneCleanly() {
        SandboxCgroup cg = pool.lease("gone", CpuLimits.UNLIMITED);
        pool.backend().remove(cg.name()); // the group vanished under hostd (an operator's rmdir)
        RuntimeException e = assertThrows(RuntimeException.class, () -> cloner.clone(template, identity(), cg));
        assertTrue(e.getMessage().contains("ENOENT"), e.getMessage());
        assertEquals(0, cloner.liveCount(), "the failed clone released its identity");
        cg.close();
    }
}
