package dev.hostd.vmm.device.vsock;

/** A packet ready for the guest's rx queue: a header whose {@code len} matches the payload. */
record VsockPacket(VsockHeader header, byte[] payload) {
    static final byte[] NO_PAYLOAD = new byte[0];
}
