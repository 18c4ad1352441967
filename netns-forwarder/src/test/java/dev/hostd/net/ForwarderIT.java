package dev.hostd.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hostd.net.internal.Libc;
import dev.hostd.net.internal.NetnsThread;
import dev.hostd.net.internal.Tun;
import dev.hostd.net.testbed.FakeGuest;
import dev.hostd.net.testbed.Frames;
import dev.hostd.net.testbed.HostSupport;
import dev.hostd.net.testbed.Testbed;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The forwarder end to end in real namespaces: TAPs whose fd the test reads and writes as a guest
 * would, the kernel bridging and tunnelling to a gateway namespace that terminates VXLAN per VNI
 * into per-VPC namespaces with a UDP echo service. Tenants a and b share the sandbox subnet
 * 198.18.0.0/24 (and even the VPC service address); tenant c has 198.18.1.0/24.
 */
class ForwarderIT {
    static final Ipv4Cidr SHARED = Ipv4Cidr.parse("198.18.0.0/24"), OTHER = Ipv4Cidr.parse("198.18.1.0/24");
    static final int GW = Ipv4.parse("198.18.0.1"), GW_C = Ipv4.parse("198.18.1.1");
    static final int SERVICE = Ipv4.parse("198.19.0.10"), SERVICE_C = Ipv4.parse("198.19.1.10");
    static final TenantSpec A = new TenantSpec("a", 101, SHARED, GW), B = new TenantSpec("b", 102, SHARED, GW), C = new TenantSpec("c", 103, OTHER, GW_C);
    /** WAIT: for an answer that must come, a hang guard (returns at the answer). QUIET: how long "nothing came back" is watched. */
    static final int WAIT = 20_000, QUIET = 700;

    static Testbed testbed;
    static Forwarder forwarder;

    @BeforeAll
    static void setUp() {
        HostSupport.assumeNetworkAdmin();
        testbed = Testbed.create();
        testbed.addVpc("a", 101, SHARED, GW, SERVICE);
        testbed.addVpc("b", 102, SHARED, GW, SERVICE);
        testbed.addVpc("c", 103, OTHER, GW_C, SERVICE_C);
        forwarder = Forwarder.open(testbed.forwarderConfig(2));
        forwarder.addTenant(A);
        forwarder.addTenant(B);
        forwarder.addTenant(C);
    }

    @AfterAll
    static void tearDown() {
        if (testbed == null) {
            return;
        }
        try {
            if (forwarder != null) {
                forwarder.close();
            }
        } finally {
            testbed.close();
        }
        assertEquals(List.of(), testbed.leftovers(), "namespaces left behind");
    }

    @Test
    void sandboxReachesItsVpcServiceOverUdpAndIcmp() {
        try (SandboxPort port = forwarder.attach("a", "reach-1"); FakeGuest guest = new FakeGuest(port)) {
            assertTrue(SHARED.contains(port.lease().ipv4()));
            assertNotNull(guest.resolveGateway(WAIT), "the VPC gateway answers ARP through the tunnel");
            assertEquals("a:hello", text(guest.udpRequest(SERVICE, Testbed.ECHO_PORT, bytes("hello"), WAIT)));
            assertTrue(guest.ping(SERVICE, WAIT), "ICMP echo to the VPC service");
            assertTrue(guest.ping(GW, WAIT), "ICMP echo to the VPC gateway");
        }
    }

    @Test
    void twoTenantsWithTheSameSubnetBothReachTheirOwnVpc() {
        try (SandboxPort pa = forwarder.attach("a", "same-a"); SandboxPort pb = forwarder.attach("b", "same-b");
             FakeGuest ga = new FakeGuest(pa); FakeGuest gb = new FakeGuest(pb)) {
            assertTrue(SHARED.contains(pa.lease().ipv4()) && SHARED.contains(pb.lease().ipv4()));
            assertEquals("a:from a", text(ga.udpRequest(SERVICE, Testbed.ECHO_PORT, bytes("from a"), WAIT)));
            assertEquals("b:from b", text(gb.udpRequest(SERVICE, Testbed.ECHO_PORT, bytes("from b"), WAIT)));
        }
    }

    @Test
    void sameAddressInTwoTenantsStaysApart() {
        // a broadcasts, ARPs for b's address and sends to b's MAC: none of it may reach b
        try (SandboxPort pa = forwarder.attach("a", "apart-a"); SandboxPort pb = forwarder.attach("b", "apart-b");
             FakeGuest ga = new FakeGuest(pa); FakeGuest gb = new FakeGuest(pb)) {
            ga.send(Frames.arpRequest(ga.mac(), ga.ip(), gb.ip()));
            ga.send(Frames.udp(ga.mac(), Frames.BROADCAST, ga.ip(), gb.ip(), 5000, 5000, bytes("to b")));
            ga.send(Frames.udp(ga.mac(), gb.mac(), ga.ip(), gb.ip(), 5000, 5000, bytes("to b")));
            List<Frames.Parsed> seen = gb.drain(QUIET);
            assertTrue(seen.stream().noneMatch(p -> java.util.Arrays.equals(p.srcMac(), ga.mac())), "b saw a frame from a: " + seen);
        }
    }

    @Test
    void tenantCannotReachAnotherTenantOrTheHost() {
        try (SandboxPort pa = forwarder.attach("a", "iso-a"); SandboxPort pc = forwarder.attach("c", "iso-c");
             FakeGuest ga = new FakeGuest(pa); FakeGuest gc = new FakeGuest(pc)) {
            assertTrue(gc.ping(SERVICE_C, WAIT), "c itself works");
            assertNull(ga.udpRequest(gc.ip(), 5000, bytes("to c"), QUIET), "a reached c's sandbox");
            assertFalse(ga.ping(gc.ip(), QUIET), "a pinged c's sandbox");
            assertNull(ga.udpRequest(SERVICE_C, Testbed.ECHO_PORT, bytes("to c's vpc"), QUIET), "a reached c's VPC service");
            List<Frames.Parsed> atC = gc.drain(QUIET);
            assertTrue(atC.stream().noneMatch(p -> java.util.Arrays.equals(p.srcMac(), ga.mac()) || p.srcIp() == ga.ip() && p.proto() != 0),
                    "c saw traffic from a: " + atC);

            long before = forwarder.dropCounters("iso-a").toHost();
            assertNull(ga.udpRequest(Testbed.HOST_UNDERLAY, 22, bytes("to host"), QUIET), "a reached the host's address");
            assertFalse(ga.ping(Testbed.HOST_UNDERLAY, QUIET), "a pinged the host's address");
            assertEquals(before + 2, countersOnce("iso-a", c -> c.toHost() >= before + 2).toHost(), "both packets to the host dropped and counted");
        }
    }

    @Test
    void spoofedSourceMacAndIpAreDroppedAndCounted() {
        try (SandboxPort port = forwarder.attach("a", "spoof-1"); SandboxPort other = forwarder.attach("a", "spoof-other");
             FakeGuest guest = new FakeGuest(port)) {
            byte[] gw = guest.resolveGateway(WAIT);
            assertNotNull(gw);
            DropCounters start = forwarder.dropCounters("spoof-1");
            assertEquals(new DropCounters(0, 0, 0, 0, 0), start);
            assertEquals(new DropCounters(0, 0, 0, 0, 0), forwarder.dropCounters("spoof-other"), "another sandbox's counters are its own");

            byte[] otherMac = {0x02, 0x66, 0x66, 0x66, 0x66, 0x66};
            guest.send(Frames.udp(otherMac, gw, guest.ip(), SERVICE, 40001, Testbed.ECHO_PORT, bytes("spoofed mac")));
            int otherIp = guest.ip() ^ 0x7F; // another address in the tenant's subnet
            guest.send(Frames.udp(guest.mac(), gw, otherIp, SERVICE, 40002, Testbed.ECHO_PORT, bytes("spoofed ip")));
            guest.send(Frames.arpRequest(guest.mac(), otherIp, GW));
            guest.send(Frames.arpRequest(otherMac, guest.ip(), GW));
            assertTrue(guest.drain(QUIET).stream().noneMatch(p -> p.proto() == Frames.PROTO_UDP || p.etherType() == Frames.ETH_ARP && p.arpOp() == 2),
                    "an answer to a spoofed frame came back");

            DropCounters after = countersOnce("spoof-1", c -> c.spoofedMac() >= 2 && c.spoofedIp() >= 2);
            assertEquals(2, after.spoofedMac(), "spoofed Ethernet source and spoofed ARP sender MAC");
            assertEquals(2, after.spoofedIp(), "spoofed IPv4 source and spoofed ARP sender IP");
            assertEquals("a:honest", text(guest.udpRequest(SERVICE, Testbed.ECHO_PORT, bytes("honest"), WAIT)), "the honest frame still passes");
            assertEquals(after, forwarder.dropCounters("spoof-1"), "the honest exchange counted nothing");
            assertEquals(new DropCounters(0, 0, 0, 0, 0), forwarder.dropCounters("spoof-other"), "nothing counted against the other sandbox");
        }
    }

    @Test
    void otherProtocolsAndRateLimitAreDroppedAndCounted() {
        try (SandboxPort port = forwarder.attach("a", "limit-1", 2000); FakeGuest guest = new FakeGuest(port)) {
            byte[] ipv6 = new byte[60];
            System.arraycopy(Frames.BROADCAST, 0, ipv6, 0, 6);
            System.arraycopy(guest.mac(), 0, ipv6, 6, 6);
            ipv6[12] = (byte) 0x86;
            ipv6[13] = (byte) 0xDD;
            guest.send(ipv6);
            byte[] big = new byte[1000];
            for (int i = 0; i < 20; i++) {
                guest.send(Frames.udp(guest.mac(), Frames.BROADCAST, guest.ip(), SERVICE, 40000, 9, big));
            }
            DropCounters c = countersOnce("limit-1", d -> d.otherProtocol() >= 1 && d.overRate() > 0);
            assertEquals(1, c.otherProtocol(), "the IPv6 frame");
            assertTrue(c.overRate() > 0, "20 kB sent at once over a 2000 B/s limit: " + c);
        }
    }

    @Test
    void detachRemovesTapAndRulesAndFreesTheLease() {
        SandboxPort port = forwarder.attach("a", "detach-1");
        String ns = port.namespace(), tap = port.tapName();
        assertTrue(Testbed.ip(ns, "link", "show").contains(tap + ":"));
        assertTrue(nft(ns).contains("\"" + tap + "\""));
        port.close();
        assertFalse(Testbed.ip(ns, "link", "show").contains(tap + ":"), "TAP still there");
        assertFalse(nft(ns).contains("\"" + tap + "\""), "set elements still there");
        assertFalse(forwarder.detach("detach-1"), "a second detach finds nothing");
        assertThrows(NetException.class, () -> forwarder.dropCounters("detach-1"));
    }

    @Test
    void reconcileRemovesWhatBelongsToNoLiveSandbox() {
        String ns = forwarder.namespaceOf("c");
        SandboxPort live = forwarder.attach("c", "rec-live");
        SandboxPort dead = forwarder.attach("c", "rec-dead");
        // rules an earlier hostd left behind (its TAP went away with its process)
        Lease ghost = new Lease("c", "rec-ghost", new byte[] {2, 0, 0, 0, 0, 9}, Ipv4.parse("198.18.1.200"), 24, GW_C);
        Testbed.sh("ip", "netns", "exec", ns, "nft", Rules.attach("t000000zz", ghost, 1000).replace("\n", ";"));
        assertTrue(nft(ns).contains("rec-ghost"));
        try (FakeGuest g = new FakeGuest(live)) {
            Set<String> removed = forwarder.reconcile(Set.of("rec-live"));
            assertTrue(removed.containsAll(Set.of("rec-dead", "rec-ghost")), "removed " + removed);
            assertFalse(removed.contains("rec-live"));
            String rules = nft(ns);
            assertFalse(rules.contains("rec-ghost") || rules.contains("rec-dead") || rules.contains("t000000zz")
                    || rules.contains("\"" + dead.tapName() + "\""), rules);
            assertTrue(rules.contains("\"" + live.tapName() + "\" comment \"rec-live\""), rules);
            assertFalse(Testbed.ip(ns, "link", "show").contains(dead.tapName() + ":"), "dead sandbox's TAP still there");
            assertEquals("c:still here", text(g.udpRequest(SERVICE_C, Testbed.ECHO_PORT, bytes("still here"), WAIT)), "the live sandbox still works");
        } finally {
            live.close();
        }
    }

    @Test
    void aTapThatBelongsToNoSandboxGetsNothingThrough() {
        // as a TAP left by someone else, or a pooled one brought up by mistake: on the bridge, up, in nobody's map entry
        String ns = forwarder.namespaceOf("b"), name = "tstray0";
        int fd;
        try (NetnsThread in = NetnsThread.enter(ns)) {
            fd = in.call(() -> Tun.openTap(name, false));
        }
        try (Arena arena = Arena.ofConfined()) {
            Testbed.ip(ns, "link", "set", name, "master", TenantNetwork.BRIDGE, "up");
            long before = forwarder.unassignedDrops("b");
            byte[] mac = {2, 1, 2, 3, 4, 5};
            int ip = Ipv4.parse("198.18.0.77");
            for (byte[] frame : List.of(Frames.arpRequest(mac, ip, GW), Frames.udp(mac, Frames.BROADCAST, ip, SERVICE, 1, 7, bytes("x")))) {
                MemorySegment seg = arena.allocateFrom(ValueLayout.JAVA_BYTE, frame);
                Libc.write(fd, seg, "write stray TAP");
            }
            assertEquals(before + 2, countOnce(() -> forwarder.unassignedDrops("b"), before + 2), "both frames dropped and counted");
        } finally {
            Libc.close(fd);
        }
    }

    @Test
    void removingATenantLeavesNoNamespaceTunnelOrTap() {
        TenantSpec d = new TenantSpec("d", 104, SHARED, GW);
        forwarder.addTenant(d);
        SandboxPort port = forwarder.attach("d", "gone-1");
        assertTrue(testbed.leftovers().contains(forwarder.namespaceOf("d")));
        forwarder.removeTenant("d");
        assertFalse(testbed.leftovers().contains(forwarder.namespaceOf("d")));
        assertFalse(forwarder.detach(port.sandboxId()));
        assertFalse(Testbed.ip(testbed.underlayNamespace(), "link", "show").contains("hv104"));
    }

    @Test
    void staleTenantNamespacesAreRemovedAndLiveOnesKept() {
        String zombie = forwarder.namespaceOf("zombie");
        Testbed.sh("ip", "netns", "add", zombie); // left by an earlier hostd for a tenant that is gone
        assertEquals(Set.of("zombie"), forwarder.removeStaleTenants(Set.of("a", "b", "c")));
        assertFalse(testbed.leftovers().contains(zombie));
        for (String live : List.of("a", "b", "c")) {
            assertTrue(testbed.leftovers().contains(forwarder.namespaceOf(live)), live);
        }
    }

    @Test
    void aFailedTenantSetupLeavesNoNamespace() {
        ForwarderConfig broken = new ForwarderConfig(testbed.prefix() + "x-", testbed.prefix() + "missing-underlay",
                Testbed.HOST_UNDERLAY, Testbed.GATEWAY_UNDERLAY, 4789, 1450, List.of(), 1, false);
        try (Forwarder f = Forwarder.open(broken)) {
            NetException e = assertThrows(NetException.class, () -> f.addTenant(new TenantSpec("e", 105, SHARED, GW)));
            assertTrue(e.getMessage().contains("missing-underlay"), e.getMessage());
            assertEquals(List.of(), f.tenantNamespaces());
        }
    }

    @Test
    void addressesAreUniqueWhileHeldAndMacsLocallyAdministered() {
        try (SandboxPort p1 = forwarder.attach("c", "addr-1"); SandboxPort p2 = forwarder.attach("c", "addr-2")) {
            assertFalse(p1.lease().ipv4() == p2.lease().ipv4());
            for (SandboxPort p : List.of(p1, p2)) {
                byte[] mac = p.lease().mac();
                assertEquals(2, mac[0] & 3, "locally administered unicast: " + p.lease().macText());
                assertEquals(GW_C, p.lease().gateway());
                assertEquals(24, p.lease().prefixLength());
            }
            assertThrows(NetException.class, () -> forwarder.attach("c", "addr-1"));
        }
    }

    static String nft(String ns) {
        return Testbed.sh("ip", "netns", "exec", ns, "nft", "list", "table", "bridge", "hostd");
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    static String text(byte[] b) {
        return b == null ? null : new String(b, StandardCharsets.US_ASCII);
    }

    /**
     * A sandbox's drop counters once {@code reached} holds, or after a 20 s hang guard: the kernel counts a
     * frame when it processes it, which may be on another CPU (ksoftirqd) after the TAP write returned.
     */
    static DropCounters countersOnce(String sandbox, java.util.function.Predicate<DropCounters> reached) {
        long end = System.nanoTime() + 20_000_000_000L;
        DropCounters c;
        while (!reached.test(c = forwarder.dropCounters(sandbox)) && System.nanoTime() - end < 0) {
            java.util.concurrent.locks.LockSupport.parkNanos(5_000_000);
        }
        return c;
    }

    /** A count once it is at least {@code atLeast}, or after a 20 s hang guard (see {@link #countersOnce}). */
    static long countOnce(java.util.function.LongSupplier count, long atLeast) {
        long end = System.nanoTime() + 20_000_000_000L;
        long c;
        while ((c = count.getAsLong()) < atLeast && System.nanoTime() - end < 0) {
            java.util.concurrent.locks.LockSupport.parkNanos(5_000_000);
        }
        return c;
    }
}
