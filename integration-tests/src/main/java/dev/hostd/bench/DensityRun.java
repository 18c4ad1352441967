package dev.hostd.bench;

import dev.hostd.cgroup.CgroupDetection;
import dev.hostd.cgroup.CgroupPool;
import dev.hostd.cgroup.CpuLimits;
import dev.hostd.cgroup.SandboxCgroup;
import dev.hostd.guest.TestGuestImage;
import dev.hostd.template.Cloner;
import dev.hostd.template.Sandbox;
import dev.hostd.template.Template;
import dev.hostd.template.TemplateSpec;
import dev.hostd.template.TemplateStore;
import dev.hostd.vmm.DensityKnobs;
import dev.hostd.vmm.kvm.Kvm;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * One configuration of the density knobs, in a JVM of its own (the knobs are per process): fills
 * the host to {@code bench.live} idle sandboxes, each with its vCPU thread in a pooled cgroup, and
 * prints one line "DENSITY {json}" with memory per sandbox. With KSM on, it also turns ksmd on for
 * the run (and restores its settings), waits for two full scans and measures again.
 */
public final class DensityRun {
    static final Duration WAIT = Duration.ofSeconds(30);
    static final Path KSM = Path.of("/sys/kernel/mm/ksm");

    public static void main(String[] args) throws Exception {
        int live = Integer.getInteger("bench.live", 2000);
        long deadline = System.nanoTime() + Long.getLong("bench.fill-seconds", 240) * 1_000_000_000L;
        DensityKnobs knobs = DensityKnobs.CURRENT;
        Map<String, Object> out = new LinkedHashMap<>();
        Path root = Files.createTempDirectory(Path.of("/dev/shm"), "hostd-bench-density");
        List<Sandbox> sandboxes = new ArrayList<>();
        List<SandboxCgroup> cgroups = new ArrayList<>();
        try (Kvm kvm = Kvm.open(); TemplateStore store = TemplateStore.open(root, kvm, WAIT, 4);
             CgroupPool pool = new CgroupPool(CgroupDetection.detect("hostd-bench-" + ProcessHandle.current().pid()), 64, 4096)) {
          try {
            Template template = store.build(new TemplateSpec("bench", TestGuestImage.bytes(), 64));
            Cloner cloner = new Cloner(kvm, WAIT, 4096);
            for (int i = 0; i < 200; i++) { // warm the JIT on the clone path
                try (SandboxCgroup cg = pool.lease("warm", CpuLimits.UNLIMITED); Sandbox s = cloner.clone(template, BenchIdentities.number(900_000 + i), cg)) {
                    s.id();
                }
            }
            System.gc();
            Thread.sleep(500);
            long avail0 = HostMemory.memAvailableKib(), pss0 = HostMemory.pssKib();
            double[] lat = new double[live];
            int n = 0;
            for (; n < live && System.nanoTime() < deadline; n++) {
                long t0 = System.nanoTime();
                SandboxCgroup cg = pool.lease("sbx-" + n, CpuLimits.UNLIMITED);
                cgroups.add(cg);
                sandboxes.add(cloner.clone(template, BenchIdentities.number(500_000 + n), cg));
                lat[n] = (System.nanoTime() - t0) / 1e6;
            }
            byte[] ping = "ping".getBytes(StandardCharsets.US_ASCII);
            sandboxes.getFirst().invoke("echo", ping, WAIT);
            sandboxes.getLast().invoke("echo", ping, WAIT);
            Thread.sleep(1000); // idle vCPUs park
            Stats clone = Stats.of(java.util.Arrays.copyOf(lat, n));
            out.put("live", n);
            out.put("ksm", knobs.ksm());
            out.put("no_huge_pages", knobs.noHugePages());
            out.put("vcpu_stack_kib", knobs.vcpuStackKib());
            out.put("clone_with_cgroup_ms_p50", round(clone.p50()));
            out.put("clone_with_cgroup_ms_p99", round(clone.p99()));
            measure(out, "", n, avail0, pss0, template, sandboxes);
            if (knobs.ksm()) {
                Map<String, String> saved = new LinkedHashMap<>();
                for (String k : List.of("run", "pages_to_scan", "sleep_millisecs")) {
                    saved.put(k, Files.readString(KSM.resolve(k)).trim());
                }
                try {
                    long scans0 = ksm("full_scans");
                    Files.writeString(KSM.resolve("pages_to_scan"), "20000");
                    Files.writeString(KSM.resolve("sleep_millisecs"), "10");
                    Files.writeString(KSM.resolve("run"), "1");
                    long ksmDeadline = System.nanoTime() + 180_000_000_000L;
                    while (ksm("full_scans") < scans0 + 2 && System.nanoTime() < ksmDeadline) {
                        Thread.sleep(500);
                    }
                    out.put("ksm_full_scans", ksm("full_scans") - scans0);
                    out.put("ksm_pages_shared", ksm("pages_shared"));
                    out.put("ksm_pages_sharing", ksm("pages_sharing"));
                    measure(out, "after_ksm_", n, avail0, pss0, template, sandboxes);
                } finally {
                    Files.writeString(KSM.resolve("run"), "0"); // stop merging; "2" would unmerge every page of the host
                    Files.writeString(KSM.resolve("pages_to_scan"), saved.get("pages_to_scan"));
                    Files.writeString(KSM.resolve("sleep_millisecs"), saved.get("sleep_millisecs"));
                    if (!saved.get("run").equals("0")) {
                        Files.writeString(KSM.resolve("run"), saved.get("run"));
                    }
                }
            }
          } finally {
            sandboxes.forEach(Sandbox::close);
            cgroups.forEach(SandboxCgroup::close);
          }
        } finally {
            try (var s = Files.walk(root)) {
                for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
        System.out.println("DENSITY " + out.entrySet().stream().map(e -> "\"" + e.getKey() + "\":" + e.getValue())
                .collect(Collectors.joining(",", "{", "}")));
    }

    private static void measure(Map<String, Object> out, String prefix, int n, long avail0, long pss0, Template template,
                                List<Sandbox> sandboxes) throws Exception {
        long availDelta = avail0 - HostMemory.memAvailableKib();
        long pssDelta = HostMemory.pssKib() - pss0;
        long guestKib = GuestPrivateMemory.kib(template.directory().resolve("memory"));
        long sample = 0;
        int sampled = Math.min(50, sandboxes.size());
        for (int i = 0; i < sampled; i++) {
            sample += sandboxes.get(i * sandboxes.size() / sampled).privateMemoryBytes();
        }
        out.put(prefix + "memavailable_mib_per_sandbox", round(availDelta / 1024.0 / n));
        out.put(prefix + "pss_mib_per_sandbox", round(pssDelta / 1024.0 / n));
        out.put(prefix + "guest_private_dirty_kib_per_sandbox", round((double) guestKib / n));
        out.put(prefix + "sandbox_private_kib_pagemap_sample", round(sample / 1024.0 / sampled));
        System.err.printf(Locale.ROOT, "%s%d live: %.3f MiB/sandbox (MemAvailable), %.3f MiB (PSS), %.1f KiB guest-written%n",
                prefix, n, availDelta / 1024.0 / n, pssDelta / 1024.0 / n, (double) guestKib / n);
    }

    private static long ksm(String name) throws Exception {
        return Long.parseLong(Files.readString(KSM.resolve(name)).trim());
    }

    static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }
}
