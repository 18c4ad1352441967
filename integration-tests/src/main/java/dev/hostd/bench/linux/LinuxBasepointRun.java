package dev.hostd.bench.linux;

import dev.hostd.bench.BenchIdentities;
import dev.hostd.bench.Stats;
import dev.hostd.vmm.agent.IdentityReport;
import dev.hostd.vmm.identity.Identity;
import dev.hostd.vmm.kvm.Kvm;
import dev.hostd.vmm.machine.LinuxBootConfig;
import dev.hostd.vmm.machine.LinuxSnapshot;
import dev.hostd.vmm.machine.LinuxVm;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The Linux Basepoint's figures, where VMX/SVM exist (issue 7): Debian's kernel with the project's
 * initramfs booted to the agent's HELLO (boot to ready), snapshotted, then {@code clones} clones
 * restored from it one after another, each timed from the restore call to its HELLO with its new
 * identity (clone to ready), all kept alive; after they idle, the RAM each holds of its own.
 */
final class LinuxBasepointRun {
    static final String CMDLINE = "console=ttyS0 mitigations=off quiet";
    static final int MEMORY_MIB = 256;
    static final long READY_TIMEOUT_SECONDS = 120;
    /** How long the clones idle before their memory is read: the agent's post-HELLO work is done by then. */
    static final long IDLE_MILLIS = 2000;

    /** Identities from here up: clear of the /15's network address and of the gateway BenchIdentities uses. */
    static final int FIRST_IDENTITY = 1000;

    record Figures(double bootToReadyMs, Stats cloneToReadyMs, double privateBytesPerIdleClone, int clones) {}

    private LinuxBasepointRun() {}

    static Figures run(Kvm kvm, byte[] bzImage, Path initramfs, int clones) throws Exception {
        if (clones < 1) {
            throw new IllegalArgumentException("bench.clones must be at least 1, got " + clones);
        }
        // In shared memory, where hostd keeps Basepoints: no disk writeback under the clones' timings.
        Path dir = Files.createTempDirectory(Path.of("/dev/shm"), "hostd-linux-basepoint");
        try {
            Path snap = Files.createDirectory(dir.resolve("basepoint"));
            LinuxBootConfig config = LinuxBootConfig.of(CMDLINE, MEMORY_MIB, 1).withInitramfs(initramfs)
                    .withIdentity(BenchIdentities.number(FIRST_IDENTITY));
            double bootMs;
            long start = System.nanoTime();
            try (LinuxVm vm = LinuxVm.boot("basepoint", kvm, bzImage, config)) {
                vm.agent().expectHello().get(READY_TIMEOUT_SECONDS, TimeUnit.SECONDS);
                bootMs = (System.nanoTime() - start) / 1e6;
                vm.snapshot(snap);
            }
            List<LinuxVm> live = new ArrayList<>();
            try (LinuxSnapshot snapshot = LinuxSnapshot.open(snap)) {
                double[] ready = new double[clones];
                for (int i = 0; i < clones; i++) {
                    Identity id = BenchIdentities.number(FIRST_IDENTITY + 1 + i);
                    long t = System.nanoTime();
                    LinuxVm clone = LinuxVm.restorePaused("clone-" + i, kvm, snapshot, id);
                    live.add(clone);
                    CompletableFuture<IdentityReport> hello = clone.agent().expectHello();
                    clone.resume();
                    IdentityReport report = hello.get(READY_TIMEOUT_SECONDS, TimeUnit.SECONDS);
                    check(i, id, report); // ready means acknowledged, as the test guest's clones are (Cloner.checkReport)
                    ready[i] = (System.nanoTime() - t) / 1e6;
                }
                Thread.sleep(IDLE_MILLIS);
                long privateBytes = live.stream().mapToLong(LinuxVm::privateMemoryBytes).sum();
                return new Figures(bootMs, Stats.of(ready), (double) privateBytes / clones, clones);
            } finally {
                live.forEach(LinuxVm::close);
            }
        } finally {
            deleteTree(dir);
        }
    }

    /** The clone's HELLO must carry the identity it was given, as the next generation of the Basepoint's page. */
    private static void check(int clone, Identity given, IdentityReport report) {
        if (report.generation() != 2 || !report.sandboxId().equals(given.sandboxId()) || !report.hostname().equals(given.hostname())
                || !Arrays.equals(report.mac(), given.mac()) || !Arrays.equals(report.ipv4(), given.ipv4())) {
            throw new IllegalStateException("clone " + clone + " reported generation " + report.generation() + " "
                    + report.sandboxId() + "/" + report.hostname() + " " + Identity.formatMac(report.mac()) + " "
                    + Identity.formatIpv4(report.ipv4()) + ", not the identity it was given");
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
