package dev.hostd.template;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.hostd.guest.TestGuestImage;
import dev.hostd.guest.TestGuestNet;
import dev.hostd.guest.TestGuestNet.Flood;
import dev.hostd.guest.TestGuestNet.Replies;
import dev.hostd.vmm.agent.InvokeResult;
import dev.hostd.vmm.device.net.NetStats;
import dev.hostd.vmm.device.net.NetnsThread;
import dev.hostd.vmm.device.net.Tap;
import dev.hostd.vmm.identity.Identity;
import dev.hostd.vmm.kvm.Kvm;
import dev.hostd.vmm.testing.TestNetns;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Clones of the test guest with virtio-net on a TAP, in a network namespace this test makes: a
 * bridge {@code br0} (198.18.0.1/24) joins each sandbox's TAP and an "injector" TAP that the test
 * holds, through which it captures the frames the guests flood (their ARP requests) and sends
 * them malformed ones. The kernel of the namespace answers ICMP; a UDP echo server runs in it.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS) // hang guard only
class NetworkIT {
    static final Duration WAIT = Duration.ofSeconds(20);
    /** How long the namespace's ping waits for the guest's echo reply: a hang guard, generous for a loaded host. */
    static final int REACHABLE_MS = 20_000;
    static final byte[] GATEWAY = {(byte) 198, 18, 0, 1};
    @TempDir
    static Path root;
    static Kvm kvm;
    static TemplateStore store;
    static Template template;
    static Cloner cloner;
    static TestNetns ns;
    static Tap injector;

    @BeforeAll
    static void setUp() {
        String why = TestNetns.unavailableBecause();
        assumeTrue(why == null, () -> "skipped: " + why);
        kvm = Kvm.open();
        store = TemplateStore.open(root, kvm, WAIT);
        template = store.build(new TemplateSpec("net-guest", TestGuestImage.bytes(), 16, true));
        cloner = new Cloner(kvm, WAIT, 16 << 10);
        ns = TestNetns.create("hostd-vnet");
        ns.exec("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1");
        ns.exec("ip", "link", "set", "lo", "up");
        ns.exec("ip", "link", "add", "br0", "type", "bridge");
        ns.exec("ip", "addr", "add", "198.18.0.1/24", "dev", "br0");
        ns.exec("ip", "link", "set", "br0", "up");
        injector = Tap.openIn(ns.path, "inj0", false);
        ns.exec("ip", "link", "set", "inj0", "master", "br0", "up");
    }

    @AfterAll
    static void tearDown() {
        try {
            if (injector != null) {
                injector.close();
            }
            if (ns != null) {
                ns.close();
            }
        } finally {
            if (store != null) {
                store.close();
            }
            if (kvm != null) {
                kvm.close();
            }
        }
    }

    /** A sandbox with identity n (198.18.0.n, MAC 02:00:00:00:00:n) on a fresh TAP in the bridge. */
    static Sandbox sandbox(int n) {
        String tapName = "vtap" + n;
        Tap tap = Tap.openIn(ns.path, tapName, true);
        Sandbox s = cloner.clone(template, TestIdentities.number(n), tap);
        try {
            ns.exec("ip", "link", "set", tapName, "master", "br0", "up");
            return s;
        } catch (RuntimeException e) {
            s.close();
            throw e;
        }
    }

    @Test
    void aGuestPingsTheNamespaceAndAnswersPingsForItsAddress() throws Exception {
        Identity id = TestIdentities.number(21);
        try (Sandbox s = sandbox(21)) {
            Replies ping = ping(s, GATEWAY, 3);
            assertEquals(3, ping.sent(), "sent");
            assertEquals(3, ping.received(), "replies from the namespace's kernel");
            for (int i = 0; i < 3; i++) {
                assertNotEquals(TestGuestNet.LOST, ping.rttNanos()[i], "echo " + i + " answered");
            }
            // The namespace's kernel pings the guest (ICMP from a raw socket opened in the namespace).
            InetAddress guest = InetAddress.getByAddress(id.ipv4());
            assertTrue(NetnsThread.call(ns.path, () -> guest.isReachable(REACHABLE_MS)), "the guest answers echo requests for its address");
            // The kernel learned the guest's address from the guest's own ARP: its identity's MAC.
            String neigh = ns.exec("ip", "neigh", "show", "198.18.0.21", "dev", "br0");
            assertTrue(neigh.contains("lladdr " + Identity.formatMac(id.mac())), "neighbour entry: " + neigh);
            assertTrue(s.netStats().orElseThrow().txFrames() >= 4, "ARP and echo requests went out");
        }
        // The TAP was the sandbox's: it is gone with it.
        assertThrows(IllegalStateException.class, () -> ns.exec("ip", "link", "show", "vtap21"));
    }

    @Test
    void udpDatagramsGoToAnEchoServerInTheNamespaceAndBack() throws Exception {
        Identity id = TestIdentities.number(22);
        AtomicReference<InetSocketAddress> client = new AtomicReference<>();
        try (DatagramChannel server = NetnsThread.call(ns.path, () -> DatagramChannel.open().bind(new InetSocketAddress("198.18.0.1", 7777)));
             Sandbox s = sandbox(22)) {
            Thread echo = Thread.ofPlatform().daemon(true).start(() -> {
                ByteBuffer buf = ByteBuffer.allocate(2048);
                try {
                    while (true) {
                        buf.clear();
                        InetSocketAddress from = (InetSocketAddress) server.receive(buf);
                        client.set(from);
                        buf.flip();
                        server.send(buf, from);
                    }
                } catch (Exception closed) {
                    // the channel closed: the test is over
                }
            });
            byte[] payload = "hello from the guest, over UDP".getBytes(StandardCharsets.UTF_8);
            Replies udp = invoke(s, TestGuestNet.UDP, TestGuestNet.udp(GATEWAY, 7777, 3, payload), Replies::parseUdp);
            assertEquals(3, udp.sent());
            assertEquals(3, udp.received(), "every datagram echoed");
            for (int i = 0; i < 3; i++) {
                assertNotEquals(TestGuestNet.LOST, udp.rttNanos()[i], "reply " + i);
            }
            assertArrayEquals(payload, udp.lastReply(), "the echoed bytes");
            assertArrayEquals(id.ipv4(), client.get().getAddress().getAddress(), "the server saw the identity's address");
            server.close();
            echo.join(5000);
        }
    }

    @Test
    void clonesOfOneTemplateEachUseTheirOwnIdentityOnTheWire() throws Exception {
        drain();
        try (Sandbox a = sandbox(23); Sandbox b = sandbox(24)) {
            assertEquals(1, ping(a, GATEWAY, 1).received());
            assertEquals(1, ping(b, GATEWAY, 1).received());
            // The guests' ARP requests are broadcasts: the bridge floods them to the injector TAP too.
            List<byte[]> arps = captured(f -> etherType(f) == 0x0806);
            List<String> senders = arps.stream().map(f -> Identity.formatMac(Arrays.copyOfRange(f, 22, 28)) + " "
                    + Identity.formatIpv4(Arrays.copyOfRange(f, 28, 32))).toList();
            for (int n : new int[] {23, 24}) {
                Identity id = TestIdentities.number(n);
                String expected = Identity.formatMac(id.mac()) + " " + Identity.formatIpv4(id.ipv4());
                assertTrue(senders.contains(expected), "an ARP from " + expected + " among " + senders);
                assertTrue(arps.stream().anyMatch(f -> Arrays.equals(Arrays.copyOfRange(f, 6, 12), id.mac())),
                        "Ethernet source is the identity's MAC");
            }
            String template = Identity.formatMac(TemplateBuilder.TEMPLATE_IDENTITY.mac());
            assertFalse(senders.stream().anyMatch(s -> s.startsWith(template)), "no frame with the template's MAC: " + senders);
            assertTrue(ns.exec("ip", "neigh", "show", "dev", "br0").contains(Identity.formatMac(TestIdentities.number(24).mac())));
        }
    }

    @Test
    void malformedFramesFromTheTapAreDroppedAndTheDeviceKeepsWorking() {
        Identity id = TestIdentities.number(25);
        try (Sandbox s = sandbox(25)) {
            assertEquals(1, ping(s, GATEWAY, 1).received(), "working before");
            long rxBefore = s.netStats().orElseThrow().rxFrames();
            List<byte[]> bad = malformedFrames(id.mac(), id.ipv4());
            for (byte[] f : bad) {
                injector.writeFrame(f);
            }
            // Ping again: the guest went through every queued frame first (the TAP is FIFO).
            Replies after = ping(s, GATEWAY, 3);
            assertEquals(3, after.received(), "still answering after " + bad.size() + " malformed frames: " + after
                    + ", device " + s.netStats().orElseThrow() + ", neighbours " + ns.exec("ip", "neigh"));
            NetStats stats = s.netStats().orElseThrow();
            assertTrue(stats.rxFrames() - rxBefore >= bad.size() / 2,
                    "the malformed frames reached the guest (" + (stats.rxFrames() - rxBefore) + " of " + bad.size() + ")");
            assertEquals(dev.hostd.vmm.machine.MicroVm.State.RUNNING, s.state());
            assertTrue(s.invoke("echo", new byte[] {1, 2, 3}, WAIT).ok(), "the agent answers");
            assertTrue(NetnsThread.call(ns.path, () -> InetAddress.getByAddress(id.ipv4()).isReachable(REACHABLE_MS)));
        }
    }

    @Test
    void udpfloodSendsEveryDatagramAndReportsItsTime() throws Exception {
        AtomicInteger got = new AtomicInteger();
        try (DatagramChannel sink = NetnsThread.call(ns.path, () -> DatagramChannel.open().bind(new InetSocketAddress("198.18.0.1", 9999)));
             Sandbox s = sandbox(26)) {
            Thread counter = Thread.ofPlatform().daemon(true).start(() -> {
                ByteBuffer buf = ByteBuffer.allocate(2048);
                try {
                    while (true) {
                        buf.clear();
                        sink.receive(buf);
                        got.incrementAndGet();
                    }
                } catch (Exception closed) {
                    // done
                }
            });
            int count = 20_000, size = 1000;
            Flood flood = invoke(s, TestGuestNet.UDP_FLOOD, TestGuestNet.udpFlood(GATEWAY, 9999, size, count), Flood::parse);
            assertEquals(count, flood.sent());
            assertTrue(flood.elapsedNanos() > 0);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30); // a hang guard for the counting thread
            while (got.get() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertTrue(got.get() > 0, "datagrams arrived at the sink");
            NetStats stats = s.netStats().orElseThrow();
            assertTrue(stats.txFrames() >= count, "device sent " + stats.txFrames());
            System.out.printf("udpflood: %d datagrams of %d bytes in %.1f ms: %.0f packets/s, %.1f Mbit/s payload; sink got %d%n",
                    flood.sent(), size, flood.elapsedNanos() / 1e6, flood.packetsPerSecond(), flood.payloadMbitPerSecond(size), got.get());
            sink.close();
            counter.join(5000);
        }
    }

    @Test
    void networkFunctionsWithoutANetworkDeviceSayUnavailable() {
        Template plain = store.build(new TemplateSpec("plain-guest", TestGuestImage.bytes(), 16));
        try (Sandbox s = cloner.clone(plain, TestIdentities.number(27))) {
            InvokeResult r = s.invoke("ping", GATEWAY, WAIT);
            assertEquals(InvokeResult.UNAVAILABLE, r.status(), r.statusName());
            assertTrue(s.netStats().isEmpty());
        }
        Tap tap = Tap.openIn(ns.path, "vtap28", true);
        assertThrows(TemplateException.class, () -> cloner.clone(plain, TestIdentities.number(28), tap),
                "a TAP for a template without a network device is refused");
        assertThrows(IllegalStateException.class, () -> ns.exec("ip", "link", "show", "vtap28"), "and the TAP was closed");
    }

    @Test
    void cloneAndDeleteCyclesWithTapsLeaveNoFdOrTapBehind() throws Exception {
        for (int i = 0; i < 5; i++) { // the JVM settles its own lazily made resources first
            try (Sandbox s = sandbox(100 + i)) {
                assertEquals(1, ping(s, GATEWAY, 1).received());
            }
        }
        ProcessResources before = ProcessResources.now(template.directory());
        for (int i = 0; i < 60; i++) {
            try (Sandbox s = sandbox(110 + i % 30)) {
                if (i % 20 == 0) {
                    assertEquals(1, ping(s, GATEWAY, 1).received(), "cycle " + i);
                }
            }
        }
        ProcessResources after = ProcessResources.now(template.directory());
        assertEquals(before.fds(), after.fds(), "open fds (TAPs included): " + before + " -> " + after);
        assertEquals(0, ProcessResources.awaitVcpuThreads(0), "vCPU threads (a thread renames itself just after its VM stopped)");
        String links = ns.exec("ip", "-o", "link", "show");
        assertFalse(links.contains("vtap1"), "every sandbox's TAP is gone: " + links);
    }

    // ---- helpers ----

    static Replies ping(Sandbox s, byte[] ip, int count) {
        return invoke(s, TestGuestNet.PING, TestGuestNet.ping(ip, count), Replies::parsePing);
    }

    static <T> T invoke(Sandbox s, String function, byte[] argument, java.util.function.Function<byte[], T> parse) {
        InvokeResult r = s.invoke(function, argument, WAIT);
        assertTrue(r.ok(), function + ": " + r.statusName());
        return parse.apply(r.output());
    }

    static void drain() {
        byte[] buf = new byte[2048];
        while (injector.readFrame(buf) >= 0) {
            // frames of earlier tests
        }
    }

    static List<byte[]> captured(java.util.function.Predicate<byte[]> keep) {
        List<byte[]> frames = new ArrayList<>();
        byte[] buf = new byte[2048];
        for (int n; (n = injector.readFrame(buf)) >= 0; ) {
            byte[] f = Arrays.copyOf(buf, n);
            if (f.length >= 42 && keep.test(f)) {
                frames.add(f);
            }
        }
        return frames;
    }

    static int etherType(byte[] f) {
        return (f[12] & 0xff) << 8 | (f[13] & 0xff);
    }

    /** Frames to the guest's MAC (and broadcasts) that lie in every header field the stack reads. */
    static List<byte[]> malformedFrames(byte[] mac, byte[] ip) {
        byte[] src = {0x0a, 0, 0, 0, 0, 0x42};
        Random random = new Random(42);
        List<byte[]> frames = new ArrayList<>();
        // IPv4 with lying lengths, versions, checksums, protocols
        for (int variant = 0; variant < 12; variant++) {
            byte[] f = new byte[14 + 20 + 8 + 32];
            System.arraycopy(mac, 0, f, 0, 6);
            System.arraycopy(src, 0, f, 6, 6);
            f[12] = 0x08;
            f[13] = 0x00;
            f[14] = 0x45;
            putBe16(f, 16, 20 + 8 + 32);
            f[22] = 64;
            f[23] = (byte) (variant % 2 == 0 ? 1 : 17);
            System.arraycopy(GATEWAY, 0, f, 26, 4);
            System.arraycopy(ip, 0, f, 30, 4);
            switch (variant) {
                case 0, 1 -> putBe16(f, 16, 2000);           // total length beyond the frame
                case 2, 3 -> f[14] = 0x4f;                    // IHL 60 bytes
                case 4, 5 -> f[14] = 0x41;                    // IHL 4 bytes
                case 6, 7 -> f[14] = 0x65;                    // version 6
                case 8, 9 -> putBe16(f, 38, 0xffff);          // UDP length / ICMP id lie
                default -> putBe16(f, 16, 19);                // total length below the header
            }
            putBe16(f, 24, checksum(f, 14, 20));
            if (variant == 11) {
                f[24] ^= 0x55;                               // and a wrong header checksum
            }
            frames.add(f);
        }
        // ARP with wrong sizes and types, truncated
        for (int variant = 0; variant < 4; variant++) {
            byte[] f = new byte[variant == 3 ? 30 : 60];
            Arrays.fill(f, 0, 6, (byte) 0xff);
            System.arraycopy(src, 0, f, 6, 6);
            f[12] = 0x08;
            f[13] = 0x06;
            if (f.length >= 42) {
                putBe16(f, 14, variant == 0 ? 6 : 1);
                putBe16(f, 16, 0x0800);
                f[18] = (byte) (variant == 1 ? 16 : 6);
                f[19] = (byte) (variant == 2 ? 16 : 4);
                putBe16(f, 20, 1);
                System.arraycopy(ip, 0, f, 38, 4);
            }
            frames.add(f);
        }
        // Random bytes, with the guest's MAC as destination and a unicast source
        for (int i = 0; i < 200; i++) {
            byte[] f = new byte[14 + random.nextInt(1500 - 14 + 1)];
            random.nextBytes(f);
            System.arraycopy(mac, 0, f, 0, 6);
            System.arraycopy(src, 0, f, 6, 6);
            if (i % 2 == 0) {
                f[12] = 0x08;
                f[13] = (byte) (i % 4 == 0 ? 0x00 : 0x06);
            }
            frames.add(f);
        }
        return frames;
    }

    static void putBe16(byte[] f, int at, int v) {
        f[at] = (byte) (v >> 8);
        f[at + 1] = (byte) v;
    }

    static int checksum(byte[] f, int from, int length) {
        long sum = 0;
        for (int i = 0; i < length; i += 2) {
            sum += (f[from + i] & 0xff) << 8 | (i + 1 < length ? f[from + i + 1] & 0xff : 0);
        }
        while (sum >> 16 != 0) {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        return (int) (~sum & 0xffff);
    }
}
