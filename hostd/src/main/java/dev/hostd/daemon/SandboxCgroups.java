package dev.hostd.daemon;

import dev.hostd.cgroup.CgroupBackend;
import dev.hostd.cgroup.CgroupDetection;
import dev.hostd.cgroup.CgroupException;
import dev.hostd.cgroup.CgroupPool;
import dev.hostd.cgroup.CpuLimits;
import dev.hostd.cgroup.SandboxCgroup;
import dev.hostd.daemon.internal.DirectoryLock;
import io.micronaut.context.annotation.Value;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The daemon's side of cgroup-tuner (docs/resources.md): with {@code hostd.cgroups.enabled}, every
 * sandbox's vCPU threads go into a pooled cgroup of its own, with the CPU limits its create request
 * asked for ({@link SandboxLimits}) or the defaults below, from before the guest runs until the
 * sandbox is deleted.
 *
 * <p>The container is this daemon's alone: at start the pool removes every group in it. So the
 * daemon holds an exclusive flock on the container directory for its lifetime, and a second daemon
 * configured with the same container (on the same cgroup home) refuses to start instead of
 * removing the first one's spare groups.
 */
@Singleton
public final class SandboxCgroups implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SandboxCgroups.class);
    static final String ENABLED_KEY = "hostd.cgroups.enabled";
    static final String CONTAINER_KEY = "hostd.cgroups.container";
    static final String CPU_PERCENT_KEY = "hostd.cgroups.cpu-percent";
    static final String CPU_WEIGHT_KEY = "hostd.cgroups.cpu-weight";

    private final SandboxLimits defaults;
    private final CgroupPool pool;
    private final DirectoryLock lock;
    private final Map<String, SandboxCgroup> leased = new ConcurrentHashMap<>();

    public SandboxCgroups(@Value("${" + ENABLED_KEY + ":false}") boolean enabled,
                          @Value("${" + CONTAINER_KEY + ":hostd-sandboxes}") String container,
                          @Value("${hostd.cgroups.pool-size:64}") int poolSize,
                          @Value("${" + CPU_PERCENT_KEY + ":0}") int cpuPercent,
                          @Value("${" + CPU_WEIGHT_KEY + ":100}") int cpuWeight) {
        this.defaults = SandboxLimits.defaults(cpuPercent, cpuWeight);
        if (!enabled) {
            this.pool = null;
            this.lock = null;
            LOG.info("sandbox cgroups off ({}=false)", ENABLED_KEY);
            return;
        }
        DirectoryLock held = null;
        try {
            CgroupDetection.Found found = CgroupDetection.scan();
            CgroupBackend backend = CgroupDetection.open(found, container); // makes the container if missing
            held = lockContainer(found.containerDirectory(container));
            this.lock = held;
            this.pool = new CgroupPool(backend, poolSize, poolSize * 2);
            LOG.info("sandbox cgroups: {}, {} pooled, default CPU {} weight {}", backend.describe(), poolSize,
                    cpuPercent == 0 ? "unlimited" : cpuPercent + "%", cpuWeight);
        } catch (CgroupException e) {
            if (held != null) {
                held.close();
            }
            throw new IllegalStateException("hostd.cgroups: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            if (held != null) {
                held.close();
            }
            throw e;
        }
    }

    /**
     * An exclusive flock on the container directory, or a start failure naming the setting. The
     * lock is checked to be on the directory at that path now (not one an exiting daemon removed
     * between our open and our flock), else it is taken again.
     */
    private static DirectoryLock lockContainer(Path dir) {
        for (int attempt = 0; attempt < 5; attempt++) {
            DirectoryLock l;
            try {
                l = DirectoryLock.tryLock(dir);
            } catch (IOException e) {
                throw new IllegalStateException("hostd.cgroups: cannot lock the container " + dir + ": " + e.getMessage(), e);
            }
            if (l == null) {
                throw new IllegalStateException("hostd.cgroups: the container " + dir + " is in use by another hostd (it holds the lock on"
                        + " that directory); give each daemon on this host its own " + CONTAINER_KEY);
            }
            try {
                if (Objects.equals(Files.readAttributes(l.procFd(), java.nio.file.attribute.BasicFileAttributes.class).fileKey(),
                        Files.readAttributes(dir, java.nio.file.attribute.BasicFileAttributes.class).fileKey())) {
                    return l;
                }
            } catch (IOException e) {
                // the directory went away: make it again below
            }
            l.close();
            try {
                Files.createDirectories(dir);
            } catch (IOException e) {
                throw new IllegalStateException("hostd.cgroups: cannot make the container " + dir + ": " + e, e);
            }
        }
        throw new IllegalStateException("hostd.cgroups: the container " + dir + " kept being removed while locking it; is another hostd stopping?");
    }

    boolean enabled() {
        return pool != null;
    }

    /** The limits a sandbox gets without a "limits" member in its create request. */
    SandboxLimits defaults() {
        return defaults;
    }

    /** A cgroup with {@code limits} for sandbox {@code id} to bind its vCPU threads to, or null when cgroups are off. */
    SandboxCgroup lease(String id, SandboxLimits limits) {
        if (pool == null) {
            return null;
        }
        SandboxCgroup cg;
        try {
            cg = pool.lease(id, limits.cpu());
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

    /** The group's path in its hierarchy, as /proc/PID/task/TID/cgroup shows it (e.g. "/hostd-sandboxes/g3"). */
    static String path(SandboxCgroup cg) {
        String p = cg.procPath(); // ":cpu,cpuacct:/c/g3" (v1) or "0::/c/g3" (v2)
        return p.substring(p.indexOf(":/") + 1);
    }

    /** CPU time of the sandbox's threads since its lease, or null if its group cannot be read (logged). */
    static Long cpuUsageNanos(SandboxCgroup cg) {
        try {
            return cg.cpuUsageNanos();
        } catch (CgroupException e) {
            LOG.warn("reading the CPU time of sandbox {} failed: {}", cg.sandboxId(), e.getMessage());
            return null;
        }
    }

    @PreDestroy
    @Override
    public void close() {
        if (pool != null) {
            leased.keySet().forEach(this::release);
            pool.close(); // removes the container while we still hold its lock
            lock.close();
        }
    }
}
