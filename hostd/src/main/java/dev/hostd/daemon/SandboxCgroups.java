package dev.hostd.daemon;

import dev.hostd.cgroup.CgroupDetection;
import dev.hostd.cgroup.CgroupException;
import dev.hostd.cgroup.CgroupPool;
import dev.hostd.cgroup.CpuLimits;
import dev.hostd.cgroup.SandboxCgroup;
import io.micronaut.context.annotation.Value;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The daemon's side of cgroup-tuner (docs/resources.md): with {@code hostd.cgroups.enabled}, every
 * sandbox's vCPU threads go into a pooled cgroup of its own, with the default CPU limits below,
 * from before the guest runs until the sandbox is deleted. Per-sandbox limits in the API are a
 * later change; the Engine calls only {@link #lease} and {@link #release}.
 */
@Singleton
public final class SandboxCgroups implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SandboxCgroups.class);
    static final String ENABLED_KEY = "hostd.cgroups.enabled";

    private final CgroupPool pool;
    private final CpuLimits defaults;
    private final Map<String, SandboxCgroup> leased = new ConcurrentHashMap<>();

    public SandboxCgroups(@Value("${" + ENABLED_KEY + ":false}") boolean enabled,
                          @Value("${hostd.cgroups.container:hostd-sandboxes}") String container,
                          @Value("${hostd.cgroups.pool-size:64}") int poolSize,
                          @Value("${hostd.cgroups.cpu-percent:0}") int cpuPercent,
                          @Value("${hostd.cgroups.cpu-weight:100}") int cpuWeight) {
        try {
            this.defaults = cpuPercent == 0 ? new CpuLimits(CpuLimits.NO_QUOTA, CpuLimits.DEFAULT_PERIOD, cpuWeight, null)
                    : CpuLimits.percentOfCpu(cpuPercent, cpuWeight);
            this.pool = enabled ? new CgroupPool(CgroupDetection.detect(container), poolSize, poolSize * 2) : null;
        } catch (CgroupException e) {
            throw new IllegalStateException("hostd.cgroups: " + e.getMessage(), e);
        }
        if (pool != null) {
            LOG.info("sandbox cgroups: {}, {} pooled, default CPU {} weight {}", pool.backend().describe(), poolSize,
                    cpuPercent == 0 ? "unlimited" : cpuPercent + "%", cpuWeight);
        } else {
            LOG.info("sandbox cgroups off ({}=false)", ENABLED_KEY);
        }
    }

    /** A cgroup for sandbox {@code id} to bind its vCPU threads to, or null when cgroups are off. */
    SandboxCgroup lease(String id) {
        if (pool == null) {
            return null;
        }
        SandboxCgroup cg;
        try {
            cg = pool.lease(id, defaults);
        } catch (CgroupException e) {
            throw new ApiException(e.invalidInput() ? ProblemCode.INVALID_INPUT : ProblemCode.HOST_UNAVAILABLE, e.getMessage());
        }
        if (leased.putIfAbsent(id, cg) != null) {
            closeQuietly(id, cg);
            throw new ApiException(ProblemCode.CONFLICT, "sandbox id " + id + " is already in use");
        }
        return cg;
    }

    /** After the sandbox's VM is closed: its group goes back to the pool. */
    void release(String id) {
        SandboxCgroup cg = leased.remove(id);
        if (cg != null) {
            closeQuietly(id, cg);
        }
    }

    /** After a failed clone: releases exactly this lease (another sandbox may hold the id). */
    void release(String id, SandboxCgroup cg) {
        if (cg != null && leased.remove(id, cg)) {
            closeQuietly(id, cg);
        }
    }

    private static void closeQuietly(String id, SandboxCgroup cg) {
        try {
            cg.close();
        } catch (CgroupException e) {
            LOG.warn("releasing the cgroup of sandbox {} failed: {}", id, e.getMessage());
        }
    }

    @PreDestroy
    @Override
    public void close() {
        if (pool != null) {
            leased.keySet().forEach(this::release);
            pool.close();
        }
    }
}
