package dev.hostd.net;

/**
 * A sandbox's attachment to its tenant's network: the TAP (name, namespace, fd) and the lease.
 * The port owns the TAP fd: the VMM borrows it for the virtio-net back-end (reads and writes raw
 * Ethernet frames, with a virtio-net header first if the forwarder was configured with vnetHeader)
 * and must stop using it before the port is closed. Closing the port detaches the sandbox: the
 * fd is closed (the kernel removes the TAP with it), the rules and counters are removed and the
 * lease is released.
 */
public final class SandboxPort implements AutoCloseable {
    private final Forwarder owner;
    private final String tapName;
    private final String namespace;
    private final int tapFd;
    private final Lease lease;

    SandboxPort(Forwarder owner, String tapName, String namespace, int tapFd, Lease lease) {
        this.owner = owner;
        this.tapName = tapName;
        this.namespace = namespace;
        this.tapFd = tapFd;
        this.lease = lease;
    }

    public String sandboxId() {
        return lease.sandboxId();
    }

    public String tenantId() {
        return lease.tenantId();
    }

    public String tapName() {
        return tapName;
    }

    /** The tenant namespace the TAP lives in (/run/netns/&lt;name&gt;). */
    public String namespace() {
        return namespace;
    }

    /** The TAP's fd, open O_RDWR and blocking; owned by this port. */
    public int tapFd() {
        return tapFd;
    }

    /**
     * A duplicate of the TAP fd that the caller owns and closes (e.g. a VMM that takes ownership of
     * the fd it is given). The TAP lives until both fds are closed, so close the VM before the port.
     */
    public int dupTapFd() {
        return dev.hostd.net.internal.Libc.dup(tapFd, "dup TAP fd of " + tapName);
    }

    public Lease lease() {
        return lease;
    }

    @Override
    public void close() {
        owner.detach(lease.sandboxId());
    }

    @Override
    public String toString() {
        return "SandboxPort[" + tapName + " in " + namespace + ", fd " + tapFd + ", " + lease + "]";
    }
}
