package dev.hostd.vmm.device.vsock;

/** Accepts guest-initiated connections to a listened host port. */
@FunctionalInterface
public interface VsockAcceptor {
    /**
     * A guest asked to connect. Return the listener for the connection's data, or null to refuse
     * it (the guest gets RST). Runs on the vCPU thread: must not block. The connection may be used
     * ({@code send}, {@code close}) from any thread, including from inside this call.
     */
    VsockStreamListener accept(VsockConnection connection);
}
