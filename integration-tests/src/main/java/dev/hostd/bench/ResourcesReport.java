package dev.hostd.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

/** Writes docs/benchmarks/resources.md from one run of {@link ResourcesBenchmark}. */
final class ResourcesReport {
    private ResourcesReport() {}

    static void write(Path file, String table, String jsonLine, String backend, int attachN, int live, String args) throws IOException {
        String md = """
                # Resources benchmark

                Latest run: %s, %d cores, JDK %s, %s. Produced by `dev.hostd.bench.ResourcesBenchmark`; re-run with:

                ```
                scripts/bench-resources%s
                ```

                **Attach cost**: %d times, a parked platform thread standing in for a vCPU thread is put into a
                sandbox cgroup: from a `CgroupPool` (lease + one write of its id per hierarchy; limits rewritten
                only if they differ from the group's last ones), and — the baseline, in the same run — into a
                group made for it (mkdir in each hierarchy, cpuset copied from the parent, limits, attach).
                Target: pooled attach ≤ 1 ms at p50.

                **Memory per sandbox**: each configuration runs in a JVM of its own (the knobs are per process,
                see `DensityKnobs`), builds a 64 MiB template of the test guest and fills the host to %d live,
                idle sandboxes, each with its vCPU thread in its own pooled cgroup. MemAvailable and this
                process's PSS are read before and after the fill; "guest-written" is the Private_Dirty of the
                guest RAM mappings (smaps), "private" what `Sandbox.privateMemoryBytes()` reports (pagemap).
                With KSM, ksmd is switched on for the run (pages_to_scan 20000, sleep 10 ms; the host's settings
                are restored) and the figures are read again after two full scans.

                The host has 2 cores shared with other work while this ran: latencies are noisy; compare the
                rows of one run, not runs with each other.

                %s
                ```
                %s
                ```
                """.formatted(Instant.now().truncatedTo(ChronoUnit.SECONDS), Runtime.getRuntime().availableProcessors(),
                System.getProperty("java.version"), backend, args.isEmpty() ? "" : " " + args, attachN, live, table, jsonLine);
        Files.createDirectories(file.getParent());
        Files.writeString(file, md);
    }
}
