package dev.hostd.bench;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/** Formats the clone benchmark's table, JSON line and markdown record. */
final class Report {
    private Report() {}

    /** One fill to the live counts, under one configuration. */
    record Fill(String label, String key, List<CloneBenchmark.DensityPoint> points) {}

    static String table(List<String> latencyRows, List<Fill> fills, List<ProbeRun.Result> probes) {
        StringBuilder b = new StringBuilder();
        b.append("| latency (ms)                             |     n |     p50 |     p99 |    mean |\n");
        b.append("|------------------------------------------|-------|---------|---------|---------|\n");
        latencyRows.forEach(r -> b.append(r).append('\n'));
        b.append('\n');
        b.append("| configuration | live | hostd clone p50 / p99 ms | C probe p50 / p99 ms | p50 ratio | MemAvailable MiB/sbx | PSS MiB/sbx | guest-written MiB/sbx | beyond guest MiB/sbx | C probe MiB/VM |\n");
        b.append("|---|------|--------------------------|----------------------|-----------|----------------------|-------------|-----------------------|----------------------|----------------|\n");
        for (Fill f : fills) {
            for (int i = 0; i < f.points().size(); i++) {
                CloneBenchmark.DensityPoint d = f.points().get(i);
                ProbeRun.Result p = probes.get(i);
                b.append(String.format(Locale.ROOT, "| %s | %4d | %11.3f / %-10.3f | %9.3f / %-8.3f | %9.2f | %20.3f | %11.3f | %21.3f | %20.3f | %14.3f |%n",
                        f.label(), d.live(), d.cloneLatency().p50(), d.cloneLatency().p99(), p.p50(), p.p99(), d.cloneLatency().p50() / p.p50(),
                        d.memAvailableMib(), d.pssMib(), d.guestWrittenMib(), d.beyondGuestMib(), p.mibPerVm()));
            }
        }
        return b.toString();
    }

    static String json(Map<String, Object> values) {
        return values.entrySet().stream().map(e -> "\"" + e.getKey() + "\":" + e.getValue())
                .collect(Collectors.joining(",", "{\"benchmark\":\"clone\",", "}"));
    }

    static void writeMarkdown(Path file, String table, String jsonLine, Map<String, Object> v, int[] shellCounts) throws IOException {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            host = "unknown";
        }
        StringBuilder targets = new StringBuilder();
        for (int shells : shellCounts) {
            String k = "shells" + shells + "_";
            String config = shells == 0 ? "no VMs made ahead (like the probe)" : shells + " VMs made ahead per template";
            targets.append(String.format(Locale.ROOT, "| %s | 2,000 live sandboxes held | %s | %s |%n", config,
                    v.containsKey(k + "live2000_clone_ms_p50") ? "2,000" : "fewer", yes(v.containsKey(k + "live2000_clone_ms_p50"))));
            targets.append(String.format(Locale.ROOT, "| %s | clone-to-ready p50 ≤ 5 ms (1,000 sequential; 2 concurrent cloners) | %s ms; %s ms | %s |%n", config,
                    v.get(k + "seq_clone_ms_p50"), v.get(k + "concurrent2_clone_ms_p50"),
                    yes(Math.max(num(v, k + "seq_clone_ms_p50"), num(v, k + "concurrent2_clone_ms_p50")) <= 5)));
            targets.append(String.format(Locale.ROOT, "| %s | clone-to-ready p99 ≤ 20 ms (1,000 sequential; 2 concurrent cloners) | %s ms; %s ms | %s |%n", config,
                    v.get(k + "seq_clone_ms_p99"), v.get(k + "concurrent2_clone_ms_p99"),
                    yes(Math.max(num(v, k + "seq_clone_ms_p99"), num(v, k + "concurrent2_clone_ms_p99")) <= 20)));
            targets.append(String.format(Locale.ROOT, "| %s | ratio to the C probe ≤ 1.5 at p50, at the same live counts | %s | %s |%n", config, ratios(v, k), yes(maxRatio(v, k) <= 1.5)));
            targets.append(String.format(Locale.ROOT, "| %s | ≤ 2 MiB per idle sandbox beyond the pages its guest wrote | %s MiB at 2,000 live | %s |%n", config,
                    v.get(k + "live2000_beyond_guest_mib_per_sandbox"), yes(num(v, k + "live2000_beyond_guest_mib_per_sandbox") <= 2)));
        }
        String md = """
                # Clone benchmark

                Latest run: %s on `%s` (%d cores), JDK %s. Produced by `dev.hostd.bench.CloneBenchmark`;
                re-run with:

                ```
                scripts/bench-clone
                ```

                It builds a 64 MiB template from the test guest, clones it (clone-to-ready = restore,
                identity written, resumed, agent acknowledged the identity), and runs the bare-KVM C probe
                (`../shared/probes/kvm-clone-probe.c`, `gcc -O2`, 64 dirty pages, 64 MiB) at the same live
                counts in the same run. Each configuration is run in turn: without VMs made ahead (every
                clone pays KVM_CREATE_VM, as the probe does) and with a few made ahead per template by a
                background thread. The fill rows time the clones that took the live count from the previous
                row's to this one's (the latency of cloning into a full host, reported beside the targets,
                which the issue sets on the sequential and 2-cloner runs); the probe times all its clones up
                to that count. "guest-written" is the
                Private_Dirty of the sandboxes' copy-on-write RAM mappings; "beyond guest" is the MemAvailable
                drop minus those pages: what the host pays per sandbox for KVM, page tables, the vCPU thread
                and hostd's own objects.

                %s
                ```json
                %s
                ```

                ## Targets (issue 2, 2-core hosts)

                | configuration | target | measured | met |
                |---|---|---|---|
                %s
                Why clones slow down as the host fills, and what hostd does about it: `docs/design.md`,
                "Clones into a full process".
                """.formatted(Instant.now().truncatedTo(ChronoUnit.SECONDS), host, Runtime.getRuntime().availableProcessors(),
                Runtime.version(), table, jsonLine, targets);
        Files.createDirectories(file.toAbsolutePath().getParent());
        Files.writeString(file, md);
    }

    private static String ratios(Map<String, Object> v, String prefix) {
        return v.keySet().stream().filter(k -> k.startsWith(prefix) && k.endsWith("_ratio_p50"))
                .map(k -> k.substring(prefix.length() + 4, k.indexOf('_', prefix.length())) + " live: " + v.get(k)).collect(Collectors.joining(", "));
    }

    private static double maxRatio(Map<String, Object> v, String prefix) {
        return v.keySet().stream().filter(k -> k.startsWith(prefix) && k.endsWith("_ratio_p50")).mapToDouble(k -> num(v, k)).max().orElse(Double.NaN);
    }

    private static double num(Map<String, Object> v, String k) {
        Object o = v.get(k);
        return o == null ? Double.NaN : ((Number) o).doubleValue();
    }

    private static String yes(boolean b) {
        return b ? "yes" : "**no**";
    }
}
