package dev.hostd.vmm.device.vsock;

import dev.hostd.vmm.device.virtio.StateReader;
import dev.hostd.vmm.device.virtio.StateWriter;

/**
 * The saved state of a vsock device: only its configuration. Connections are not saved: snapshots
 * are taken with the agent idle, and the guest reconnects when it sees a new identity generation.
 */
record VsockState(long guestCid) {
    static final int MAGIC = 0x4B435356; // "VSCK"
    static final int VERSION = 1;
    static final String WHAT = "vsock state";

    byte[] encode() {
        return new StateWriter().u32(MAGIC).u16(VERSION).u64(guestCid).toByteArray();
    }

    static VsockState decode(byte[] bytes) {
        StateReader r = new StateReader(WHAT, bytes);
        r.header(MAGIC, VERSION);
        long cid = r.u64("guest cid");
        r.end();
        String problem = checkCid(cid);
        if (problem != null) {
            throw r.fail(problem);
        }
        return new VsockState(cid);
    }

    /** Guest CIDs 0-2 are reserved (hypervisor, local, host) and u32 -1 is VMADDR_CID_ANY. */
    static String checkCid(long cid) {
        return cid < 3 || cid >= 0xFFFF_FFFFL ? "guest cid " + Long.toUnsignedString(cid) + " is reserved or out of range [3, 2^32-2]" : null;
    }
}
