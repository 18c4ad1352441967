package dev.hostd.vmm.device.vsock;

/** Receives what the guest sends on one accepted connection. Both methods run on the vCPU thread and must not block. */
public interface VsockStreamListener {
    /** Bytes the guest sent, in order; packet boundaries carry no meaning. The array is the listener's. */
    void onData(byte[] data);

    /** The connection ended (guest reset or shutdown, host close, device reset or restore). Called exactly once. */
    void onClosed(String reason);
}
