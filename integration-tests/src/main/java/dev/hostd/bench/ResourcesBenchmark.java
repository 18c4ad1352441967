package dev.hostd.bench;

import dev.hostd.cgroup.CgroupBackend;
import dev.hostd.cgroup.CgroupDetection;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The resources benchmark (docs/benchmarks/resources.md): (1) the cost of putting a vCPU thread
 * into its sandbox's cgroup, pooled against a group made fresh (the baseline, same run); (2) memory
 * per sandbox at {@code bench.live} live sandboxes under each density knob, every configuration
 * in a JVM of its own ({@link DensityRun}), the default configuration being the baseline.
 */
public final class ResourcesBenchmark {
    record Config(String label, String key, List<String> options) {}

    static final List<Config> CONFIGS = List.of(
            new Config("defaults (no KSM, THP as the host has it, 256 KiB vCPU stacks)", "base", List.of()),
            new Config("KSM on guest RAM (MADV_MERGEABLE), ksmd running", "ksm", List.of("-Dhostd.density.ksm=true")),
            new Config("no huge pages for guest RAM (MADV_NOHUGEPAGE)", "nothp", List.of("-Dhostd.density.no-huge-pages=true")),
            new Config("vCPU stack 136 KiB", "stack136", List.of("-Dhostd.density.vcpu-stack-kib=136")),
            new Config("vCPU stack 1024 KiB", "stack1024", List.of("-Dhostd.density.vcpu-stack-kib=1024")));

    public static void main(String[] args) throws Exception {
        int attachN = Integer.getInteger("bench.attach", 2000);
        int live = Integer.getInteger("bench.live", 2000);
        List<String> only = List.of(System.getProperty("bench.configs", "base,ksm,nothp,stack136,stack1024").split(","));
        Path report = Path.of(System.getProperty("bench.report", "docs/benchmarks/resources.md"));
        Map<String, Object> json = new LinkedHashMap<>();

        CgroupBackend backend = CgroupDetection.detect("hostd-bench-attach-" + ProcessHandle.current().pid());
        AttachCost.Result attach = AttachCost.measure(backend, attachN);
        json.put("backend", "\"" + backend.describe().replace("\"", "'") + "\"");
        put(json, "attach_pooled", attach.pooled());
        put(json, "attach_pooled_new_limits", attach.pooledNewLimits());
        put(json, "attach_fresh", attach.fresh());
        put(json, "remove_fresh", attach.freshRemove());
        json.put("attach_fresh_over_pooled_p50", DensityRun.round(attach.fresh().p50() / attach.pooled().p50()));

        List<Map<String, String>> density = new ArrayList<>();
        List<Config> ran = new ArrayList<>();
        for (Config c : CONFIGS) {
            if (!only.contains(c.key())) {
                continue;
            }
            Map<String, String> d = runChild(c, live);
            density.add(d);
            ran.add(c);
            d.forEach((k, v) -> json.put(c.key() + "_" + k, v));
        }
        String table = table(attach, attachN, ran, density);
        String jsonLine = json.entrySet().stream().map(e -> "\"" + e.getKey() + "\":" + e.getValue())
                .collect(java.util.stream.Collectors.joining(",", "{\"benchmark\":\"resources\",", "}"));
        System.out.println(table);
        System.out.println(jsonLine);
        ResourcesReport.write(report, table, jsonLine, backend.describe(), attachN, live, String.join(" ", args));
    }

    private static void put(Map<String, Object> json, String key, Stats s) {
        json.put(key + "_ms_p50", DensityRun.round(s.p50()));
        json.put(key + "_ms_p99", DensityRun.round(s.p99()));
    }

    /** Runs {@link DensityRun} in a new JVM with the configuration's -D options and parses its DENSITY line. */
    static Map<String, String> runChild(Config c, int live) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.addAll(List.of("--enable-native-access=ALL-UNNAMED", "-Xms512m", "-Xmx512m", "-XX:+AlwaysPreTouch", "-Dbench.live=" + live,
                "-Dbench.fill-seconds=" + Integer.getInteger("bench.fill-seconds", 300)));
        cmd.addAll(c.options());
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), DensityRun.class.getName()));
        System.out.println("density run '" + c.key() + "': " + String.join(" ", c.options()));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        Map<String, String> values = new LinkedHashMap<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                if (line.startsWith("DENSITY {")) {
                    for (String kv : line.substring("DENSITY {".length(), line.length() - 1).split(",")) {
                        String[] parts = kv.split(":", 2);
                        values.put(parts[0].replace("\"", ""), parts[1]);
                    }
                } else {
                    System.out.println("  " + line);
                }
            }
        }
        if (p.waitFor() != 0 || values.isEmpty()) {
            throw new IllegalStateException("density run '" + c.key() + "' failed with exit code " + p.exitValue());
        }
        return values;
    }

    static String table(AttachCost.Result a, int n, List<Config> configs, List<Map<String, String>> density) {
        StringBuilder b = new StringBuilder();
        b.append("| attach a vCPU thread to its sandbox cgroup (ms) |     n |     p50 |     p99 |    mean |\n");
        b.append("|--------------------------------------------------|-------|---------|---------|---------|\n");
        b.append(row("pooled group, limits unchanged", a.pooled()));
        b.append(row("pooled group, limits rewritten", a.pooledNewLimits()));
        b.append(row("baseline: group made fresh (mkdir, set-up, attach)", a.fresh()));
        b.append(row("(removing a fresh group, not in the above)", a.freshRemove()));
        b.append(String.format(Locale.ROOT, "%nfresh / pooled at p50: %.1f×%n%n", a.fresh().p50() / a.pooled().p50()));
        b.append("| configuration | live | clone+cgroup p50 / p99 ms | MemAvailable MiB/sbx | PSS MiB/sbx | guest-written KiB/sbx (smaps) | private KiB/sbx (pagemap, 50 sampled) | after KSM: MemAvailable / PSS MiB/sbx, pages sharing |\n");
        b.append("|---|---|---|---|---|---|---|---|\n");
        for (int i = 0; i < configs.size(); i++) {
            Map<String, String> d = density.get(i);
            String ksm = d.containsKey("after_ksm_pss_mib_per_sandbox")
                    ? d.get("after_ksm_memavailable_mib_per_sandbox") + " / " + d.get("after_ksm_pss_mib_per_sandbox") + ", " + d.get("ksm_pages_sharing")
                    + " (" + d.get("ksm_full_scans") + " full scans)" : "—";
            b.append(String.format(Locale.ROOT, "| %s | %s | %s / %s | %s | %s | %s | %s | %s |%n", configs.get(i).label(), d.get("live"),
                    d.get("clone_with_cgroup_ms_p50"), d.get("clone_with_cgroup_ms_p99"), d.get("memavailable_mib_per_sandbox"),
                    d.get("pss_mib_per_sandbox"), d.get("guest_private_dirty_kib_per_sandbox"), d.get("sandbox_private_kib_pagemap_sample"), ksm));
        }
        return b.toString();
    }

    private static String row(String name, Stats s) {
        return String.format(Locale.ROOT, "| %-48s | %5d | %7.3f | %7.3f | %7.3f |%n", name, s.count(), s.p50(), s.p99(), s.mean());
    }
}
