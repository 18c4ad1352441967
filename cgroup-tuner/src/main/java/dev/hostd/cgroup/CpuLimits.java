package dev.hostd.cgroup;

import java.util.regex.Pattern;

/**
 * CPU for one sandbox's vCPU threads: a hard quota per period (CFS bandwidth: {@code cpu.max} in
 * cgroup v2, {@code cpu.cfs_quota_us}/{@code cpu.cfs_period_us} in v1) and a weight for sharing
 * what is left ({@code cpu.weight} 1..10000 in v2; {@code cpu.shares} = weight × 1024 / 100 in v1,
 * systemd's mapping). Optionally the CPUs the threads may run on ({@code cpuset.cpus}).
 *
 * @param quotaMicros CPU time per period in µs, or {@link #NO_QUOTA}; 200% of a CPU is 2 × period
 * @param periodMicros 1,000..1,000,000 µs (the kernel's bounds)
 * @param weight 1..10,000; 100 is the default share
 * @param cpus a cpuset list such as "0-3,6", or null to keep the parent's
 */
public record CpuLimits(long quotaMicros, long periodMicros, int weight, String cpus) {
    public static final long NO_QUOTA = -1;
    public static final long DEFAULT_PERIOD = 100_000;
    public static final int DEFAULT_WEIGHT = 100;
    public static final CpuLimits UNLIMITED = new CpuLimits(NO_QUOTA, DEFAULT_PERIOD, DEFAULT_WEIGHT, null);
    private static final Pattern CPU_LIST = Pattern.compile("\\d{1,4}(-\\d{1,4})?(,\\d{1,4}(-\\d{1,4})?)*");

    public CpuLimits {
        if (periodMicros < 1_000 || periodMicros > 1_000_000) {
            throw invalid("CPU period must be 1000..1000000 µs, got " + periodMicros);
        }
        if (quotaMicros != NO_QUOTA && (quotaMicros < 1_000 || quotaMicros > 1_000_000L * 1024)) {
            throw invalid("CPU quota must be at least 1000 µs per period (the kernel's minimum) and at most 1024 CPUs' worth, or unlimited; got "
                    + quotaMicros + " µs");
        }
        if (weight < 1 || weight > 10_000) {
            throw invalid("CPU weight must be 1..10000, got " + weight);
        }
        if (cpus != null && !CPU_LIST.matcher(cpus).matches()) {
            throw invalid("cpus must be a CPU list like \"0-3,6\", got '" + cpus + "'");
        }
    }

    /** {@code percent} of one CPU (e.g. 20, or 200 for two CPUs) in the default period, with {@code weight}. */
    public static CpuLimits percentOfCpu(int percent, int weight) {
        if (percent < 1 || percent > 100 * 1024) {
            throw invalid("CPU percent must be 1..102400 (% of one CPU), got " + percent);
        }
        return new CpuLimits(DEFAULT_PERIOD * percent / 100, DEFAULT_PERIOD, weight, null);
    }

    /** The v1 {@code cpu.shares} for this weight (10..102400, within the kernel's 2..262144). */
    public long shares() {
        return weight * 1024L / 100;
    }

    /** The v2 {@code cpu.max} line. */
    public String cpuMax() {
        return (quotaMicros == NO_QUOTA ? "max" : Long.toString(quotaMicros)) + " " + periodMicros;
    }

    private static CgroupException invalid(String message) {
        return CgroupException.invalid("CPU limits", message);
    }
}
