package dev.hostd.bench;

import dev.hostd.guest.TestGuestImage;
import dev.hostd.template.Cloner;
import dev.hostd.template.Sandbox;
import dev.hostd.template.Template;
import dev.hostd.template.TemplateSpec;
import dev.hostd.template.TemplateStore;
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
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The clone benchmark of issue 2, in one run: builds a template from the test guest, then measures
 * clone-to-ready latency (sequential, and with 2 concurrent cloners), the echo round trip, and host
 * memory per live idle sandbox at 500, 1,000 and 2,000 live sandboxes; runs the bare-KVM C probe at
 * the same counts for the ratio; prints a table and a JSON line and writes docs/benchmarks/clone.md.
 *
 * <p>Run: {@code scripts/bench-clone} (see docs/benchmarks/clone.md for the exact command).
 */
public final class CloneBenchmark {
    static final Duration WAIT = Duration.ofSeconds(30);
    static final int MEMORY_MIB = 64;

    public static void main(String[] args) throws Exception {
        int sequential = Integer.getInteger("bench.sequential", 1000);
        int[] liveCounts = parseCounts(System.getProperty("bench.live", "500,1000,2000"));
        int[] shellCounts = parseCounts(System.getProperty("bench.shells", "0,4"));
        Path probeSource = Path.of(System.getProperty("hostd.probe", "../shared/probes/kvm-clone-probe.c"));
        Path report = Path.of(System.getProperty("bench.report", "docs/benchmarks/clone.md"));
        Path work = Files.createTempDirectory("hostd-bench");
        Path root = Files.createTempDirectory(Path.of("/dev/shm"), "hostd-bench");
        Map<String, Object> json = new LinkedHashMap<>();
        List<String> rows = new ArrayList<>();
        List<Report.Fill> fills = new ArrayList<>();
        try (Kvm kvm = Kvm.open()) {
            ProbeRun probe = ProbeRun.build(probeSource, work);
            Cloner cloner = new Cloner(kvm, WAIT, 4096);
            for (int shells : shellCounts) {
                String label = shells == 0 ? "no VMs made ahead" : shells + " VMs made ahead";
                String key = "shells" + shells + "_";
                try (TemplateStore store = TemplateStore.open(root.resolve(key), kvm, WAIT, shells)) {
                    long t0 = System.nanoTime();
                    Template template = store.build(new TemplateSpec("bench", TestGuestImage.bytes(), MEMORY_MIB));
                    json.put(key + "template_build_ms", round((System.nanoTime() - t0) / 1e6));
                    cycle(cloner, template, 300, 0); // warm the JIT on the clone path
                    Stats seq = cycle(cloner, template, sequential, 0);
                    rows.add(row("clone, sequential, " + label, seq));
                    json.put(key + "seq_clone_ms_p50", round(seq.p50()));
                    json.put(key + "seq_clone_ms_p99", round(seq.p99()));
                    Stats concurrent = concurrent(cloner, template, 2, sequential / 2);
                    rows.add(row("clone, 2 cloners, " + label, concurrent));
                    json.put(key + "concurrent2_clone_ms_p50", round(concurrent.p50()));
                    json.put(key + "concurrent2_clone_ms_p99", round(concurrent.p99()));
                    if (fills.isEmpty()) {
                        Stats echo = echo(cloner, template);
                        rows.add(row("invoke echo 64 B round trip", echo));
                        json.put("echo_ms_p50", round(echo.p50()));
                        json.put("echo_ms_p99", round(echo.p99()));
                    }
                    fills.add(new Report.Fill(label, key, fill(cloner, template, liveCounts)));
                    store.delete("bench");
                }
            }
            List<ProbeRun.Result> probes = new ArrayList<>();
            for (int n : liveCounts) {
                probes.add(probe.run(n, 64, MEMORY_MIB));
            }
            for (Report.Fill f : fills) {
                for (int i = 0; i < f.points().size(); i++) {
                    DensityPoint d = f.points().get(i);
                    ProbeRun.Result p = probes.get(i);
                    String k = f.key() + "live" + d.live();
                    json.put(k + "_clone_ms_p50", round(d.cloneLatency().p50()));
                    json.put(k + "_clone_ms_p99", round(d.cloneLatency().p99()));
                    json.put(k + "_ratio_p50", round(d.cloneLatency().p50() / p.p50()));
                    json.put(k + "_memavail_mib_per_sandbox", round(d.memAvailableMib()));
                    json.put(k + "_pss_mib_per_sandbox", round(d.pssMib()));
                    json.put(k + "_guest_written_mib_per_sandbox", round(d.guestWrittenMib()));
                    json.put(k + "_beyond_guest_mib_per_sandbox", round(d.beyondGuestMib()));
                }
            }
            for (ProbeRun.Result p : probes) {
                json.put("probe_live" + p.vms() + "_ms_p50", round(p.p50()));
                json.put("probe_live" + p.vms() + "_ms_p99", round(p.p99()));
                json.put("probe_live" + p.vms() + "_mib_per_vm", round(p.mibPerVm()));
            }
            String table = Report.table(rows, fills, probes);
            System.out.println(table);
            String line = Report.json(json);
            System.out.println(line);
            Report.writeMarkdown(report, table, line, json, shellCounts);
        } finally {
            Files.deleteIfExists(work.resolve("kvm-clone-probe"));
            Files.deleteIfExists(work);
            try (var w = Files.walk(root)) {
                w.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    static Stats echo(Cloner cloner, Template template) {
        try (Sandbox s = cloner.clone(template, BenchIdentities.number(900_000))) {
            byte[] payload = new byte[64];
            for (int i = 0; i < 200; i++) {
                s.invoke("echo", payload, WAIT);
            }
            double[] lat = new double[1000];
            for (int i = 0; i < lat.length; i++) {
                long a = System.nanoTime();
                s.invoke("echo", payload, WAIT);
                lat[i] = (System.nanoTime() - a) / 1e6;
            }
            return Stats.of(lat);
        }
    }

    /** Clones and immediately deletes {@code n} sandboxes; returns clone-to-ready latencies. */
    static Stats cycle(Cloner cloner, Template template, int n, int idBase) {
        return Stats.of(latencies(cloner, template, n, idBase));
    }

    static double[] latencies(Cloner cloner, Template template, int n, int idBase) {
        double[] lat = new double[n];
        for (int i = 0; i < n; i++) {
            long a = System.nanoTime();
            Sandbox s = cloner.clone(template, BenchIdentities.number(idBase + i));
            lat[i] = (System.nanoTime() - a) / 1e6;
            s.close();
        }
        return lat;
    }

    /** {@code threads} cloners at once, each cloning and deleting {@code each} sandboxes; pooled latencies. */
    static Stats concurrent(Cloner cloner, Template template, int threads, int each) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<double[]>> parts = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int base = 100_000 * (t + 1);
                parts.add(pool.submit(() -> latencies(cloner, template, each, base)));
            }
            List<Double> all = new ArrayList<>();
            for (Future<double[]> f : parts) {
                for (double d : f.get()) {
                    all.add(d);
                }
            }
            return Stats.of(all.stream().mapToDouble(Double::doubleValue).toArray());
        } finally {
            pool.shutdownNow();
        }
    }

    /** Clones sandboxes and keeps them alive, measuring memory at each count; closes them all at the end. */
    static List<DensityPoint> fill(Cloner cloner, Template template, int[] counts) throws Exception {
        List<Sandbox> live = new ArrayList<>();
        List<DensityPoint> points = new ArrayList<>();
        Path memoryFile = template.directory().resolve("memory");
        System.gc();
        long avail0 = HostMemory.memAvailableKib();
        long pss0 = HostMemory.pssKib();
        try {
            int previous = 0;
            for (int target : counts) {
                double[] lat = new double[target - previous];
                for (int i = previous; i < target; i++) {
                    long a = System.nanoTime();
                    live.add(cloner.clone(template, BenchIdentities.number(500_000 + i)));
                    lat[i - previous] = (System.nanoTime() - a) / 1e6;
                }
                // Every sandbox answers: the count is of working, idle sandboxes.
                byte[] ping = "ping".getBytes(StandardCharsets.US_ASCII);
                live.getFirst().invoke("echo", ping, WAIT);
                live.getLast().invoke("echo", ping, WAIT);
                Thread.sleep(500); // let idle vCPUs park
                long availDelta = avail0 - HostMemory.memAvailableKib();
                long pssDelta = HostMemory.pssKib() - pss0;
                long guest = GuestPrivateMemory.kib(memoryFile);
                points.add(new DensityPoint(target, Stats.of(lat), availDelta / 1024.0 / target, pssDelta / 1024.0 / target,
                        guest / 1024.0 / target, (availDelta - guest) / 1024.0 / target));
                System.out.printf(Locale.ROOT, "%d sandboxes live: clone p50 %.3f ms, %.3f MiB/sandbox (MemAvailable)%n",
                        target, points.getLast().cloneLatency().p50(), points.getLast().memAvailableMib());
                previous = target;
            }
        } finally {
            live.forEach(Sandbox::close);
        }
        return points;
    }

    record DensityPoint(int live, Stats cloneLatency, double memAvailableMib, double pssMib, double guestWrittenMib, double beyondGuestMib) {}

    static String row(String name, Stats s) {
        return String.format(Locale.ROOT, "| %-40s | %5d | %7.3f | %7.3f | %7.3f |", name, s.count(), s.p50(), s.p99(), s.mean());
    }

    static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }

    static int[] parseCounts(String s) {
        return java.util.Arrays.stream(s.split(",")).mapToInt(Integer::parseInt).toArray();
    }
}
