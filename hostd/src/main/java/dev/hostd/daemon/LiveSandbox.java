package dev.hostd.daemon;

import dev.hostd.cgroup.SandboxCgroup;
import dev.hostd.template.Sandbox;
import java.time.Instant;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A live sandbox and what the API reports about it. Its lock orders pause, resume and invoke of
 * this sandbox only, so a slow operation on one sandbox never waits for another.
 */
final class LiveSandbox {
    final Sandbox sandbox;
    final Instant createdAt;
    final double cloneMillis;
    /** The tenant-pool IPv4 address it holds, released when it is deleted. */
    final int ipv4;
    /** Guest RAM: the most host memory the sandbox can hold (docs/resources.md). */
    final long memoryLimitBytes;
    /** Its cgroup and the limits written to it; both null when hostd.cgroups.enabled is false. */
    final SandboxCgroup cgroup;
    final SandboxLimits limits;
    final ReentrantLock lock = new ReentrantLock();
    /** Its port on the tenant's network (closed after the VM), or null; set once before the sandbox is published. */
    dev.hostd.net.SandboxPort port;
    Dto.SandboxNetworkView network;

    LiveSandbox(Sandbox sandbox, Instant createdAt, double cloneMillis, int ipv4, long memoryLimitBytes,
                SandboxCgroup cgroup, SandboxLimits limits) {
        this.sandbox = sandbox;
        this.createdAt = createdAt;
        this.cloneMillis = cloneMillis;
        this.ipv4 = ipv4;
        this.memoryLimitBytes = memoryLimitBytes;
        this.cgroup = cgroup;
        this.limits = cgroup == null ? null : limits;
    }
}
