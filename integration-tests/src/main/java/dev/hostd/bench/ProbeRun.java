package dev.hostd.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The bare-KVM C baseline (../shared/probes/kvm-clone-probe.c), built with gcc -O2 and run in this benchmark run. */
final class ProbeRun {
    record Result(int vms, double p50, double p99, double mean, double mibPerVm) {}

    private final Path binary;

    private ProbeRun(Path binary) {
        this.binary = binary;
    }

    static ProbeRun build(Path source, Path workDir) throws IOException, InterruptedException {
        if (!Files.isRegularFile(source)) {
            throw new IllegalStateException("C probe not found at " + source + ": set -Dhostd.probe=<path to kvm-clone-probe.c>");
        }
        Path binary = workDir.resolve("kvm-clone-probe");
        run(List.of("gcc", "-O2", "-o", binary.toString(), source.toString()));
        return new ProbeRun(binary);
    }

    /** Runs the probe with {@code vms} live VMs, each writing {@code dirtyPages} pages of {@code memMiB} RAM. */
    Result run(int vms, int dirtyPages, int memMiB) throws IOException, InterruptedException {
        String out = run(List.of(binary.toString(), Integer.toString(vms), Integer.toString(dirtyPages), Integer.toString(memMiB)));
        String json = out.lines().filter(l -> l.startsWith("{")).reduce((a, b) -> b).orElseThrow(() -> new IllegalStateException("probe printed no JSON:\n" + out));
        return new Result(vms, number(json, "clone_ms_p50"), number(json, "clone_ms_p99"), number(json, "clone_ms_mean"), number(json, "host_mib_per_vm"));
    }

    private static double number(String json, String key) {
        Matcher m = Pattern.compile("\"" + key + "\":([0-9.eE+-]+)").matcher(json);
        if (!m.find()) {
            throw new IllegalStateException("probe JSON lacks " + key + ": " + json);
        }
        return Double.parseDouble(m.group(1));
    }

    private static String run(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(30, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IllegalStateException(command + " failed:\n" + out);
        }
        return out;
    }
}
