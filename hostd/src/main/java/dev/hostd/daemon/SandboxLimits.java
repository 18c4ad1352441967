package dev.hostd.daemon;

import dev.hostd.cgroup.CpuLimits;

/**
 * A sandbox's CPU limits as the API states them: {@code cpuPercent} of one CPU per 100 ms period
 * (null: no quota) and {@code cpuWeight}, its share of what is left when the host is busy. The
 * bounds are the API's (docs/api-v1-draft.md), checked before anything is taken.
 *
 * @param cpuPercent 1..{@link #MAX_CPU_PERCENT}, or null for no quota
 * @param cpuWeight 1..10,000; 100 is an even share
 */
record SandboxLimits(Integer cpuPercent, int cpuWeight) {
    /**
     * 100 per vCPU, and every sandbox has one vCPU today: a quota above that cannot bind (one
     * thread never runs on two CPUs at once). Below 1 the quota would be under the kernel's 1 ms.
     */
    static final int MAX_CPU_PERCENT = 100;
    static final int MAX_WEIGHT = 10_000;

    /** The defaults from the settings (a bad one stops the start, naming its key); percent 0 means no quota. */
    static SandboxLimits defaults(int cpuPercent, int cpuWeight) {
        if (cpuPercent < 0 || cpuPercent > MAX_CPU_PERCENT) {
            throw new IllegalArgumentException("invalid setting " + SandboxCgroups.CPU_PERCENT_KEY + "=" + cpuPercent
                    + ": expected 0 (no quota) or 1.." + MAX_CPU_PERCENT + " (% of one CPU; a sandbox has one vCPU)");
        }
        if (cpuWeight < 1 || cpuWeight > MAX_WEIGHT) {
            throw new IllegalArgumentException("invalid setting " + SandboxCgroups.CPU_WEIGHT_KEY + "=" + cpuWeight
                    + ": expected 1.." + MAX_WEIGHT + " (100 is an even share)");
        }
        return new SandboxLimits(cpuPercent == 0 ? null : cpuPercent, cpuWeight);
    }

    /** The request's limits, each member left out taken from {@code defaults}; a value out of range is invalid-input naming it. */
    static SandboxLimits of(Dto.LimitsRequest r, SandboxLimits defaults) {
        if (r == null) {
            return defaults;
        }
        if (r.cpuPercent() != null && (r.cpuPercent() < 1 || r.cpuPercent() > MAX_CPU_PERCENT)) {
            throw new ApiException(ProblemCode.INVALID_INPUT, "limits.cpuPercent must be 1.." + MAX_CPU_PERCENT
                    + " (% of one CPU; a sandbox has one vCPU); got " + r.cpuPercent());
        }
        if (r.cpuWeight() != null && (r.cpuWeight() < 1 || r.cpuWeight() > MAX_WEIGHT)) {
            throw new ApiException(ProblemCode.INVALID_INPUT, "limits.cpuWeight must be 1.." + MAX_WEIGHT
                    + " (100 is an even share); got " + r.cpuWeight());
        }
        return new SandboxLimits(r.cpuPercent() != null ? r.cpuPercent() : defaults.cpuPercent(),
                r.cpuWeight() != null ? r.cpuWeight() : defaults.cpuWeight());
    }

    /** What cgroup-tuner writes: the quota in the default 100 ms period, and the weight. */
    CpuLimits cpu() {
        return cpuPercent == null ? new CpuLimits(CpuLimits.NO_QUOTA, CpuLimits.DEFAULT_PERIOD, cpuWeight, null)
                : CpuLimits.percentOfCpu(cpuPercent, cpuWeight);
    }

    Dto.LimitsView view() {
        return new Dto.LimitsView(cpuPercent, cpuWeight);
    }
}
