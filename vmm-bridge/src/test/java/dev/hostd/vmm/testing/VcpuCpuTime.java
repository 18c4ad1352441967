package dev.hostd.vmm.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Time a vCPU thread spent on a CPU (the first field of /proc/self/task/TID/schedstat): what the
 * hang guards of Linux boot tests count, since the wall time depends on what else the machine runs.
 */
public final class VcpuCpuTime {
    private VcpuCpuTime() {}

    /** Seconds on a CPU of the first of {@code tids}; NaN (never over a guard) if it cannot be read. */
    public static double seconds(int[] tids) {
        try {
            return tids.length == 0 ? Double.NaN
                    : Long.parseLong(Files.readString(Path.of("/proc/self/task/" + tids[0] + "/schedstat")).split(" ")[0]) / 1e9;
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
    }
}
