package dev.hostd.bench.linux;

import dev.hostd.vmm.kvm.Kvm;
import dev.hostd.vmm.loader.linux.GuestKernelCache;
import dev.hostd.vmm.loader.linux.Vmlinux;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Issue 7's benchmark: a stock Linux kernel booted by hostd's VMM against the same kernel booted by
 * QEMU's microvm on the same /dev/kvm, in one run, alternating. Where /proc/cpuinfo shows vmx or svm
 * the kernel's whole start-up is timed; on PVM hosts (host-facts.md) every kernel instruction is
 * emulated, so only its first milestones are, and the report says so. Where VMX/SVM exist it also
 * measures the Linux Basepoint (LinuxBasepointRun): boot to agent ready, clone to ready, private
 * memory per idle clone; elsewhere the report names them as not measured, with the reason.
 */
public final class LinuxBootBenchmark {
    static final String CMDLINE = "earlyprintk=serial,ttyS0,115200 console=ttyS0 mitigations=off";
    static final int MEMORY_MIB = 128;
    static final double CPU_GUARD_SECONDS = 300;
    static final List<String> BASEPOINT_FIGURES = List.of("boot to agent ready", "Basepoint clone to ready (target < 100 ms)",
            "private memory per idle Linux clone (target ≤ 20 MB)");

    private LinuxBootBenchmark() {}

    public static void main(String[] args) throws Exception {
        Path report = Path.of(System.getProperty("bench.report", "docs/benchmarks/linux-boot.md"));
        Path cache = GuestKernelCache.directory();
        Path vmlinuz = GuestKernelCache.vmlinuz(cache).orElseThrow(() -> new IllegalStateException(
                "no guest kernel under " + cache + ": " + GuestKernelCache.HOW_TO_FETCH));
        String cpuFlags = Files.readString(Path.of("/proc/cpuinfo"));
        boolean hardware = Pattern.compile("\\b(vmx|svm)\\b").matcher(cpuFlags).find();
        int runs = Integer.getInteger("bench.runs", hardware ? 5 : 1);
        List<BootMilestone> milestones = BootMilestone.reachable(hardware);
        if (!QemuLinuxBoot.available()) {
            throw new IllegalStateException("no " + QemuLinuxBoot.BINARY + " for the baseline: apt-get install qemu-system-x86 (scripts/bench-linux-boot does)");
        }
        byte[] bzImage = Files.readAllBytes(vmlinuz);
        Path initramfs = Path.of(System.getProperty("bench.initramfs", "guest/target/linux-guest/initramfs.cpio"));
        if (hardware && !Files.isRegularFile(initramfs)) { // before the boots: the Basepoint run needs it
            throw new IllegalStateException("no initramfs at " + initramfs + " for the Linux Basepoint: build the guest module"
                    + " (busybox-static installed) or give -Dbench.initramfs=");
        }
        Path vmlinux = Files.createTempFile("bench-vmlinux", ".elf");
        List<BootTimeline> ours = new ArrayList<>(), qemu = new ArrayList<>();
        try (Kvm kvm = Kvm.open()) {
            Files.write(vmlinux, Vmlinux.extract(bzImage));
            for (int run = 0; run < runs; run++) { // alternating, so a change in the host's load hits both
                ours.add(OurLinuxBoot.run(kvm, bzImage, CMDLINE, MEMORY_MIB, milestones, CPU_GUARD_SECONDS));
                qemu.add(QemuLinuxBoot.run(vmlinux, CMDLINE, MEMORY_MIB, milestones, CPU_GUARD_SECONDS));
                System.out.printf("run %d: hostd %s; QEMU %s%n", run + 1, brief(ours.getLast(), milestones), brief(qemu.getLast(), milestones));
            }
        } finally {
            Files.deleteIfExists(vmlinux);
        }

        Map<String, Object> json = new LinkedHashMap<>();
        json.put("kernel", "\"" + vmlinuz.getFileName() + "\"");
        json.put("hardware_virtualization", hardware);
        json.put("runs", runs);
        StringBuilder table = new StringBuilder("| milestone | hostd wall s | QEMU wall s | wall ratio | hostd vCPU s | QEMU vCPU s | vCPU ratio |\n|---|---|---|---|---|---|---|\n");
        for (BootMilestone m : milestones) {
            double ow = median(ours, m.name(), true), qw = median(qemu, m.name(), true);
            double oc = median(ours, m.name(), false), qc = median(qemu, m.name(), false);
            table.append(String.format(Locale.ROOT, "| %s: %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |%n", m.name(), m.description(), ow, qw, ow / qw, oc, qc, oc / qc));
            json.put(m.name() + "_hostd_wall_s", round(ow));
            json.put(m.name() + "_qemu_wall_s", round(qw));
            json.put(m.name() + "_hostd_vcpu_s", round(oc));
            json.put(m.name() + "_qemu_vcpu_s", round(qc));
        }
        // The boots' host load, before the Basepoint run adds its own.
        json.put("host_loadavg_1m", Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
        StringBuilder basepoint = new StringBuilder();
        String notMeasured = hardware ? null
                : "this host has no vmx/svm (KVM is PVM: guest kernel code is emulated ~5,000x slower, so the kernel"
                + " never reaches its agent in useful time); LinuxVmSnapshotTest proves the snapshot and clone path with tiny guests";
        if (hardware) {
            int clones = Integer.getInteger("bench.clones", 20);
            try (Kvm kvm = Kvm.open()) {
                LinuxBasepointRun.Figures f = LinuxBasepointRun.run(kvm, bzImage, initramfs, clones);
                basepoint.append(String.format(Locale.ROOT, "| %s | %.1f ms |%n", BASEPOINT_FIGURES.get(0), f.bootToReadyMs()));
                basepoint.append(String.format(Locale.ROOT, "| %s | p50 %.2f ms, max %.2f ms over %d clones |%n", BASEPOINT_FIGURES.get(1),
                        f.cloneToReadyMs().p50(), f.cloneToReadyMs().max(), f.clones()));
                basepoint.append(String.format(Locale.ROOT, "| %s | %.2f MB (%.2f MiB) |%n", BASEPOINT_FIGURES.get(2),
                        f.privateBytesPerIdleClone() / 1e6, f.privateBytesPerIdleClone() / (1 << 20)));
                json.put("boot_to_ready_ms", round(f.bootToReadyMs()));
                json.put("clone_to_ready_ms_p50", round(f.cloneToReadyMs().p50()));
                json.put("clone_to_ready_ms_max", round(f.cloneToReadyMs().max()));
                json.put("private_mb_per_idle_clone", round(f.privateBytesPerIdleClone() / 1e6));
            } catch (Exception e) { // the boot timings above are still worth their report
                notMeasured = "the Linux Basepoint run failed: " + e;
            }
        }
        if (notMeasured != null) {
            for (String what : BASEPOINT_FIGURES) {
                basepoint.append("| ").append(what).append(" | not measured: ").append(notMeasured.replace('|', '/')).append(" |\n");
            }
            json.put("not_measured_reason", "\"" + notMeasured.replace('"', '\'') + "\"");
        }
        String jsonLine = json.entrySet().stream().map(e -> "\"" + e.getKey() + "\":" + e.getValue())
                .collect(java.util.stream.Collectors.joining(",", "{\"benchmark\":\"linux-boot\",", "}"));
        System.out.println();
        System.out.print(table);
        System.out.println();
        System.out.print("| figure | status |\n|---|---|\n" + basepoint);
        System.out.println();
        System.out.println(jsonLine);
        LinuxBootReport.write(report, vmlinuz, hardware, runs, table.toString(), basepoint.toString(), jsonLine);
        System.out.println("\nwrote " + report);
    }

    private static String brief(BootTimeline t, List<BootMilestone> milestones) {
        StringBuilder b = new StringBuilder();
        for (BootMilestone m : milestones) {
            b.append(String.format(Locale.ROOT, "%s %.1f s (vCPU %.1f s) ", m.name(), t.wall(m.name()), t.cpu(m.name())));
        }
        return b.toString().strip();
    }

    static double median(List<BootTimeline> timelines, String milestone, boolean wall) {
        double[] v = timelines.stream().mapToDouble(t -> wall ? t.wall(milestone) : t.cpu(milestone)).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    private static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }
}
