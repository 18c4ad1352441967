package dev.hostd.net;

import dev.hostd.net.internal.LibNftables;
import dev.hostd.net.internal.Libc;
import dev.hostd.net.internal.NetnsThread;
import dev.hostd.net.internal.RtnetlinkSocket;
import dev.hostd.net.internal.Tun;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.locks.ReentrantLock;
import java.util.random.RandomGenerator;

/**
 * One tenant's namespace: a bridge {@code hbr} whose ports are the sandboxes' TAPs and the VXLAN
 * device {@code hv<vni>} (made in the underlay namespace, so its UDP socket sends over the shared
 * ENI, then moved here). Owns the namespace thread and everything opened on it: the rtnetlink
 * socket, the libnftables context, the pooled and attached TAP fds.
 *
 * <p>Sockets and TAP files belong to the namespace they were opened in, whichever thread uses them
 * later; so only opening them needs the namespace thread. The fast path (a pooled TAP, nftables
 * elements) runs on the caller's thread under {@link #lock}: a hop to another thread costs a
 * wake-up, which on a loaded host can cost more than the attach itself. The namespace thread makes
 * TAPs (the pool refill, or an attach that finds the pool empty) and owns the netlink socket.
 */
final class TenantNetwork implements AutoCloseable {
    static final String BRIDGE = "hbr";

    private record Tap(String name, int fd) {}

    private record Attached(Tap tap, Lease lease, boolean rateLimited) {}

    private final ForwarderConfig config;
    private final TenantSpec spec;
    private final String namespace;
    private final String tapTag;
    private final NetnsThread thread;
    private final AddressAllocator allocator;
    /** Guards the nftables context and {@link #attached}. */
    private final ReentrantLock lock = new ReentrantLock();
    private LibNftables nft;
    private final Map<String, Attached> attached = new HashMap<>();
    private final ConcurrentLinkedDeque<Tap> pool = new ConcurrentLinkedDeque<>();
    // touched only on the namespace thread:
    private RtnetlinkSocket netlink;
    private int bridgeIndex;
    private long tapSerial;

    private TenantNetwork(ForwarderConfig config, TenantSpec spec, String namespace, String tapTag, NetnsThread thread, RandomGenerator random) {
        this.config = config;
        this.spec = spec;
        this.namespace = namespace;
        this.tapTag = tapTag;
        this.thread = thread;
        this.allocator = new AddressAllocator(spec, random);
    }

    /** Makes (or adopts, after a restart) the tenant's namespace, bridge, VXLAN device and base rules. */
    static TenantNetwork create(ForwarderConfig config, TenantSpec spec, String tapTag, RandomGenerator random) {
        String ns = config.namespacePrefix() + spec.tenantId();
        boolean made = false;
        if (!Files.exists(Path.of("/run/netns", ns))) {
            IpRoute.ip(null, "netns", "add", ns);
            made = true;
        }
        NetnsThread thread = null;
        try {
            thread = NetnsThread.enter(ns);
            String vxlan = "hv" + spec.vni();
            if (!IpRoute.linkExists(ns, BRIDGE)) {
                IpRoute.ip(ns, "link", "add", BRIDGE, "type", "bridge");
            }
            if (!IpRoute.linkExists(ns, vxlan)) {
                IpRoute.ip(config.underlayNamespace(), "link", "add", vxlan, "mtu", Integer.toString(config.mtu()), "type", "vxlan",
                        "id", Integer.toString(spec.vni()), "local", Ipv4.format(config.underlayLocal()),
                        "remote", Ipv4.format(config.gatewayUnderlay()), "dstport", Integer.toString(config.vxlanPort()));
                IpRoute.ip(config.underlayNamespace(), "link", "set", vxlan, "netns", ns);
            }
            TenantNetwork tenant = new TenantNetwork(config, spec, ns, tapTag, thread, random);
            try {
                thread.call(() -> {
                    tenant.setUp(vxlan);
                    return null;
                });
                tenant.refill();
            } catch (RuntimeException e) {
                thread.call(() -> {
                    tenant.closeNative();
                    return null;
                });
                throw e;
            }
            return tenant;
        } catch (RuntimeException e) {
            if (thread != null) {
                thread.close();
            }
            if (made) {
                try {
                    IpRoute.ip(null, "netns", "del", ns);
                } catch (NetException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
    }

    /** On the namespace thread: no IPv6 (no link-local address a guest could talk to), links up, rules. */
    private void setUp(String vxlan) throws IOException {
        for (String conf : List.of("all", "default")) {
            Files.writeString(Path.of("/proc/sys/net/ipv6/conf", conf, "disable_ipv6"), "1");
        }
        netlink = RtnetlinkSocket.open();
        nft = LibNftables.create();
        bridgeIndex = Libc.ifNameToIndex(BRIDGE);
        netlink.setLink("lo", 0, 0, true);
        netlink.setLink(vxlan, bridgeIndex, config.mtu(), true);
        netlink.setLink(BRIDGE, 0, 0, true);
        List<Ipv4Cidr> hosts = new ArrayList<>(config.hostAddresses());
        hosts.add(new Ipv4Cidr(config.underlayLocal(), 32));
        nft.run(Rules.base(hosts.stream().distinct().toList()));
    }

    TenantSpec spec() {
        return spec;
    }

    String namespace() {
        return namespace;
    }

    AddressAllocator allocator() {
        return allocator;
    }

    /** Attaches a sandbox: a TAP (pooled or new) up on the bridge, its rules; returns name and fd. */
    SandboxPort attach(Forwarder owner, String sandboxId, long bytesPerSecond) {
        Lease lease = allocator.allocate(sandboxId);
        try {
            Tap pooled = pool.poll();
            Tap tap = pooled != null ? pooled : thread.call(this::makeTap);
            lock.lock();
            try {
                nft.run(Rules.attach(tap.name(), lease, bytesPerSecond));
                attached.put(sandboxId, new Attached(tap, lease, bytesPerSecond > 0));
            } catch (RuntimeException e) {
                Libc.close(tap.fd()); // the TAP goes with its fd; a half-made rule set was rolled back by nft
                throw e;
            } finally {
                lock.unlock();
            }
            if (config.tapPoolSize() > 0) {
                thread.post(this::refillQuietly);
            }
            return new SandboxPort(owner, tap.name(), namespace, tap.fd(), lease);
        } catch (RuntimeException e) {
            allocator.release(sandboxId);
            throw e;
        }
    }

    /** Detaches a sandbox: its TAP fd closed (the kernel removes the TAP), rules and counters removed, lease freed. */
    boolean detach(String sandboxId) {
        lock.lock();
        try {
            Attached a = attached.remove(sandboxId);
            if (a == null) {
                return false;
            }
            try {
                Libc.close(a.tap().fd());
            } finally {
                nft.run(Rules.detach(a.tap().name(), a.lease(), a.rateLimited()));
            }
            return true;
        } finally {
            lock.unlock();
            allocator.release(sandboxId);
        }
    }

    /**
     * Removes the rules of every sandbox not in {@code live}, attached by this process or left by an
     * earlier one (its TAPs went with its fds); returns the ids removed.
     */
    Set<String> reconcile(Set<String> live) {
        Set<String> removed = new java.util.TreeSet<>();
        for (String id : attachedIds()) {
            if (!live.contains(id) && detach(id)) {
                removed.add(id);
            }
        }
        locked(() -> {
            Set<String> ours = new java.util.HashSet<>();
            attached.values().forEach(a -> ours.add(a.tap().name()));
            Map<String, String> ports = Rules.ports(nft.run("list set " + Rules.TABLE + " ports"));
            String macs = nft.run("list set " + Rules.TABLE + " port_mac"), ips = nft.run("list set " + Rules.TABLE + " port_ip");
            String rated = nft.run("list map " + Rules.TABLE + " rate_ports");
            for (Map.Entry<String, String> port : ports.entrySet()) {
                String tap = port.getKey(), id = port.getValue();
                if (!live.contains(id) && !ours.contains(tap)) {
                    List<String> mac = Rules.pairedWith(macs, tap), ip = Rules.pairedWith(ips, tap);
                    nft.run(Rules.detach(tap, id, mac.isEmpty() ? null : mac.get(0), ip.isEmpty() ? null : ip.get(0), rated.contains("\"" + tap + "\"")));
                    removed.add(id);
                }
            }
            return null;
        });
        return removed;
    }

    DropCounters counters(String sandboxId) {
        return locked(() -> {
            Attached a = attached.get(sandboxId);
            if (a == null) {
                throw new NetException("counters", "sandbox " + sandboxId + " is not attached in tenant " + spec.tenantId());
            }
            long[] v = new long[DropCounters.SET_KINDS.size()];
            for (int i = 0; i < v.length; i++) {
                v[i] = Rules.elementPackets(nft.run("list set " + Rules.TABLE + " drop_" + DropCounters.SET_KINDS.get(i)), a.tap().name());
                if (v[i] < 0) {
                    throw new NetException("counters", "sandbox " + sandboxId + " has no drop_" + DropCounters.SET_KINDS.get(i) + " counter in tenant " + spec.tenantId());
                }
            }
            long rate = a.rateLimited() ? Rules.packets(nft.run("list chain " + Rules.TABLE + " " + Rules.rateChain(sandboxId))) : 0;
            return new DropCounters(v[0], v[1], v[2], v[3], rate);
        });
    }

    /** The "unassigned" counter: frames from TAPs that belong to no sandbox. */
    long unassignedDrops() {
        return locked(() -> Rules.packets(nft.run("list counter " + Rules.TABLE + " unassigned")));
    }

    int pooled() {
        return pool.size();
    }

    private List<String> attachedIds() {
        return locked(() -> List.copyOf(attached.keySet()));
    }

    private <T> T locked(java.util.function.Supplier<T> work) {
        lock.lock();
        try {
            return work.get();
        } finally {
            lock.unlock();
        }
    }

    private void refill() {
        thread.call(() -> {
            while (pool.size() < config.tapPoolSize()) {
                pool.add(makeTap());
            }
            return null;
        });
    }

    private void refillQuietly() {
        try {
            while (pool.size() < config.tapPoolSize()) {
                pool.add(makeTap());
            }
        } catch (RuntimeException e) {
            // the next attach makes its TAP itself and reports the failure
        }
    }

    /**
     * On the namespace thread: a new TAP, up on the bridge. Up already, because bringing a bridge port
     * up walks all the bridge's ports (0.5 ms with 1,000 sandboxes attached, measured): that cost
     * belongs in the refill, not in the attach. Until its sandbox's rules are in, the base rules drop
     * all it sends ("unassigned"); broadcasts the tenant's network floods to it meanwhile queue up in
     * the TAP (bounded by its queue length) and reach the guest as stale ARP requests, which are harmless.
     */
    private Tap makeTap() {
        String name = Rules.TAP_PREFIX + tapTag + Long.toString(tapSerial++, 36);
        int fd = Tun.openTap(name, config.vnetHeader());
        try {
            netlink.setLink(name, bridgeIndex, config.mtu(), true);
        } catch (RuntimeException e) {
            Libc.close(fd);
            throw e;
        }
        return new Tap(name, fd);
    }

    /** Detaches every sandbox, closes pooled TAPs and the namespace thread; the namespace stays. */
    @Override
    public void close() {
        for (String id : attachedIds()) {
            detach(id);
        }
        thread.call(() -> {
            closeNative();
            return null;
        });
        thread.close();
    }

    /** On the namespace thread: pooled TAP fds, the nftables context and the netlink sockets. */
    private void closeNative() {
        for (Tap t = pool.poll(); t != null; t = pool.poll()) {
            Libc.close(t.fd());
        }
        lock.lock();
        try {
            if (nft != null) {
                nft.close();
                nft = null;
            }
        } finally {
            lock.unlock();
        }
        if (netlink != null) {
            netlink.close();
            netlink = null;
        }
    }
}
