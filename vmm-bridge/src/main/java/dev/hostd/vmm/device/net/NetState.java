package dev.hostd.vmm.device.net;

import dev.hostd.vmm.device.virtio.StateReader;
import dev.hostd.vmm.device.virtio.StateWriter;

/**
 * The saved state of a virtio-net device: its MAC (config space). The TAP is not state: a restored
 * VM (a clone) is given a TAP of its own and the MAC of its identity. Frames in flight are not
 * saved either; snapshots are taken with the guest idle, and a lost frame is what networks do.
 */
record NetState(byte[] mac) {
    static final int MAGIC = 0x54454E56; // "VNET"
    static final int VERSION = 1;
    static final String WHAT = "virtio-net state";

    NetState {
        mac = mac.clone();
    }

    byte[] encode() {
        StateWriter w = new StateWriter().u32(MAGIC).u16(VERSION);
        for (byte b : mac) {
            w.u8(b & 0xff);
        }
        return w.toByteArray();
    }

    static NetState decode(byte[] bytes) {
        StateReader r = new StateReader(WHAT, bytes);
        r.header(MAGIC, VERSION);
        byte[] mac = new byte[6];
        for (int i = 0; i < 6; i++) {
            mac[i] = (byte) r.u8("mac");
        }
        r.end();
        String problem = VirtioNet.checkMac(mac);
        if (problem != null) {
            throw r.fail(problem);
        }
        return new NetState(mac);
    }
}
