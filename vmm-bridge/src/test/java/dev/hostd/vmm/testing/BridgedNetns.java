package dev.hostd.vmm.testing;

import dev.hostd.vmm.device.net.Tap;

/**
 * A network namespace made for a test with a bridge {@code br0} and a TAP the test holds
 * ({@code peer0}) on it, IPv6 off so the kernel stays quiet: a device's TAP put on the same bridge
 * exchanges broadcast frames with {@link #peer}. Closing removes both.
 */
public final class BridgedNetns implements AutoCloseable {
    public final TestNetns ns;
    public final Tap peer;

    private BridgedNetns(TestNetns ns, Tap peer) {
        this.ns = ns;
        this.peer = peer;
    }

    public static BridgedNetns create(String prefix) {
        TestNetns ns = TestNetns.create(prefix);
        Tap peer = null;
        try {
            ns.exec("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1");
            ns.exec("ip", "link", "add", "br0", "type", "bridge");
            ns.exec("ip", "link", "set", "br0", "up");
            peer = Tap.openIn(ns.path, "peer0", false);
            ns.exec("ip", "link", "set", "peer0", "master", "br0", "up");
            return new BridgedNetns(ns, peer);
        } catch (RuntimeException e) {
            if (peer != null) {
                peer.close();
            }
            ns.close();
            throw e;
        }
    }

    /** A TAP {@code name} with a virtio-net header, on the bridge and up; closed here if that fails. */
    public Tap tapOnBridge(String name) {
        Tap tap = Tap.openIn(ns.path, name, true);
        try {
            ns.exec("ip", "link", "set", name, "master", "br0", "up");
            return tap;
        } catch (RuntimeException e) {
            tap.close();
            throw e;
        }
    }

    @Override
    public void close() {
        peer.close();
        ns.close();
    }
}
