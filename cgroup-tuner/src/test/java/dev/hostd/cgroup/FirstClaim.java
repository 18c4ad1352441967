package dev.hostd.cgroup;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * For the CPU share tests: gives a test's container the largest CPU weight the kernel allows, so a
 * group inside it gets all of its quota even on a loaded host (other builds and tests on the same
 * two cores, each runnable thread weighing 1024 shares). Those tests measure the quota (the group
 * must not get more than it and, wanting more, must get it), not how a busy host shares its CPUs.
 */
final class FirstClaim {
    private FirstClaim() {}

    /** For the backend {@link CgroupDetection#open} picks: v1 where v1 has the cpu controller, else v2. */
    static void onCpu(CgroupDetection.Found found, String container) {
        onCpu(found, container, !found.v1HasCpu());
    }

    /** cgroup v1: cpu.shares 262144 (the maximum) on {@code <cpu hierarchy home>/<container>}; v2: cpu.weight 10000. */
    static void onCpu(CgroupDetection.Found found, String container, boolean v2) {
        if (!v2) {
            CgroupDetection.V1HierarchyView cpu = found.v1().stream().filter(h -> List.of(h.controllers().split(",")).contains("cpu"))
                    .findFirst().orElseThrow();
            write(Path.of(cpu.mount() + cpu.home()).resolve(container).resolve("cpu.shares"), "262144");
        } else {
            Path base = found.v2Path().equals("/") ? found.v2Mount() : found.v2Mount().resolve(found.v2Path().substring(1));
            write(base.resolve(container).resolve("cpu.weight"), "10000");
        }
    }

    private static void write(Path file, String value) {
        try {
            Files.writeString(file, value);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + value + " to " + file, e);
        }
    }
}
