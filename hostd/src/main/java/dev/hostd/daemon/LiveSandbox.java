package dev.hostd.daemon;

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
    final ReentrantLock lock = new ReentrantLock();

    LiveSandbox(Sandbox sandbox, Instant createdAt, double cloneMillis, int ipv4) {
        this.sandbox = sandbox;
        this.createdAt = createdAt;
        this.cloneMillis = cloneMillis;
        this.ipv4 = ipv4;
    }
}
