package dev.hostd.vmm.device.net;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.hostd.vmm.VmmException;
import dev.hostd.vmm.device.virtio.DeviceStateException;
import dev.hostd.vmm.device.virtio.DeviceStatus;
import dev.hostd.vmm.device.virtio.FakeGuestDriver;
import dev.hostd.vmm.device.virtio.GuestQueue;
import dev.hostd.vmm.device.virtio.GuestQueue.Buf;
import dev.hostd.vmm.device.virtio.GuestQueue.Used;
import dev.hostd.vmm.device.virtio.VirtioFeatures;
import dev.hostd.vmm.device.virtio.VirtioMmioTransport;
import dev.hostd.vmm.internal.linux.Libc;
import dev.hostd.vmm.memory.GuestMemory;
import dev.hostd.vmm.testing.BridgedNetns;
import dev.hostd.vmm.testing.TestNetns;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The virtio-net device driven through its MMIO registers by a fake guest, on a real TAP: in a
 * namespace made for the test, the device's TAP {@code dev0} and a TAP the test holds
 * ({@code peer0}) are ports of one bridge, so broadcast frames cross between them.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS) // hang guard only
class VirtioNetTest {
    static final byte[] MAC = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
    static final byte[] PEER_MAC = {0x0a, 0, 0, 0, 0, 0x42};
    static BridgedNetns bridged;
    static TestNetns ns;
    static Tap peer;

    final Arena arena = Arena.ofShared();
    final GuestMemory memory = new GuestMemory(arena.allocate(4L << 20, 4096));
    final AtomicInteger wakes = new AtomicInteger();
    VirtioNet net;
    VirtioMmioTransport transport;
    FakeGuestDriver driver;
    GuestQueue rx, tx;

    @BeforeAll
    static void namespace() {
        String why = TestNetns.unavailableBecause();
        assumeTrue(why == null, () -> "skipped: " + why);
        bridged = BridgedNetns.create("hostd-vnet-dev");
        ns = bridged.ns;
        peer = bridged.peer;
    }

    @AfterAll
    static void cleanUp() {
        if (bridged != null) {
            bridged.close();
        }
    }

    /** A device on a fresh TAP dev0 in the bridge, initialised by the fake guest with 16-entry queues. */
    void start(boolean withTap) {
        Tap tap = null;
        if (withTap) {
            tap = bridged.tapOnBridge("dev0");
        }
        net = new VirtioNet(MAC, tap);
        transport = new VirtioMmioTransport(net, memory, wakes::incrementAndGet);
        net.connect(NetEventLoop.shared(), wakes::incrementAndGet);
        driver = new FakeGuestDriver(transport, memory, 0x10000);
        List<GuestQueue> qs = driver.init(VirtioFeatures.VERSION_1 | VirtioNet.F_MAC, 2, 16);
        rx = qs.get(0);
        tx = qs.get(1);
        drainPeer();
    }

    @AfterEach
    void stop() {
        if (net != null) {
            net.close(); // closes dev0, which removes it
        }
        arena.close();
    }

    @Test
    void offersVersion1AndMacWithTheMacInConfigSpace() {
        start(false);
        assertEquals(1, driver.reg(FakeGuestDriver.DEVICE_ID));
        long features = driver.deviceFeatures();
        assertEquals(VirtioFeatures.VERSION_1 | VirtioNet.F_MAC, features);
        for (int i = 0; i < 6; i++) {
            assertEquals(MAC[i] & 0xff, transport.read(FakeGuestDriver.CONFIG + i, 1), "mac byte " + i);
        }
        assertEquals(0, transport.read(FakeGuestDriver.CONFIG + 6, 2), "nothing after the MAC");
        assertThrows(IllegalArgumentException.class, () -> new VirtioNet(new byte[] {1, 0, 0, 0, 0, 0}, null), "multicast MAC");
    }

    @Test
    void transmittedFramesReachTheTapWhateverTheirDescriptorLayout() {
        start(true);
        byte[] a = frame(60, 1), b = frame(1514, 2);
        long bufA = buffer(withHeader(a));
        tx.add(List.of(new Buf(bufA, 12 + a.length, false)));
        // b: header split from the frame, the frame in two pieces
        byte[] hb = withHeader(b);
        long p1 = buffer(Arrays.copyOfRange(hb, 0, 5)), p2 = buffer(Arrays.copyOfRange(hb, 5, 700)), p3 = buffer(Arrays.copyOfRange(hb, 700, hb.length));
        tx.add(List.of(new Buf(p1, 5, false), new Buf(p2, 695, false), new Buf(p3, hb.length - 700, false)));
        driver.notify(1);
        assertEquals(2, tx.pollUsed().size(), "both chains returned during the notify");
        List<byte[]> got = peerFrames(2);
        assertArrayEquals(a, got.get(0));
        assertArrayEquals(b, got.get(1));
        assertEquals(2, net.stats().txFrames());
        assertEquals(60 + 1514, net.stats().txBytes());
    }

    @Test
    void malformedTransmitChainsAreDroppedAndCountedWithoutAReset() {
        start(true);
        byte[] runt = withHeader(frame(13, 3)), huge = withHeader(frame(VirtioNet.MAX_FRAME + 1, 4));
        tx.add(List.of(new Buf(buffer(runt), runt.length, false)));
        tx.add(List.of(new Buf(buffer(huge), huge.length, false)));
        tx.add(List.of(new Buf(buffer(new byte[5]), 5, false))); // not even a header
        driver.notify(1);
        assertEquals(3, tx.pollUsed().size());
        assertEquals(3, net.stats().txDropped());
        assertEquals(0, driver.status() & DeviceStatus.DEVICE_NEEDS_RESET);
        byte[] ok = frame(100, 5);
        tx.add(List.of(new Buf(buffer(withHeader(ok)), 112, false)));
        driver.notify(1);
        assertArrayEquals(ok, peerFrames(1).getFirst(), "a good frame after the bad ones still goes out");
    }

    @Test
    void receivedFramesGoIntoPostedBuffersOnTheNextExit() {
        start(true);
        long whole = postRx(2048);
        long head = driver.alloc(7, 8), rest = driver.alloc(2041, 8); // the header split across descriptors
        rx.add(List.of(new Buf(head, 7, true), new Buf(rest, 2041, true)));
        byte[] f1 = frame(60, 6), f2 = frame(1514, 7);
        int before = wakes.get();
        peer.writeFrame(f1);
        peer.writeFrame(f2);
        await(() -> wakes.get() > before, "the event loop woke the vCPU");
        await(() -> {
            transport.service(); // what the vCPU does on every exit
            return rx.usedIdx() == 2;
        }, "both frames delivered");
        List<Used> used = rx.pollUsed();
        assertEquals(12 + 60, used.get(0).length());
        assertEquals(12 + 1514, used.get(1).length());
        byte[] hdr1 = read(whole, 12);
        assertArrayEquals(new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0}, hdr1, "virtio_net_hdr_v1: zero, num_buffers 1");
        assertArrayEquals(f1, read(whole + 12, 60));
        byte[] second = new byte[12 + 1514];
        System.arraycopy(read(head, 7), 0, second, 0, 7);
        System.arraycopy(read(rest, 12 + 1514 - 7), 0, second, 7, 12 + 1514 - 7);
        assertEquals(1, second[10]);
        assertArrayEquals(f2, Arrays.copyOfRange(second, 12, second.length));
        assertEquals(2, net.stats().rxFrames());
    }

    @Test
    void framesWaitInTheTapUntilTheGuestPostsBuffers() {
        start(true);
        for (int i = 0; i < 3; i++) {
            peer.writeFrame(frame(80, 10 + i));
        }
        await(() -> wakes.get() > 0, "woken");
        assertFalse(transport.service(), "no buffers: nothing delivered");
        for (int i = 0; i < 3; i++) {
            postRx(2048);
        }
        await(() -> {
            transport.service();
            return rx.usedIdx() == 3;
        }, "the queued frames delivered once buffers exist");
        assertEquals(0, net.stats().rxDropped());
    }

    @Test
    void anRxBufferTooSmallForAFrameIsADriverBug() {
        start(true);
        postRx(VirtioNet.MIN_RX_BUFFER - 1);
        peer.writeFrame(frame(60, 20));
        await(() -> {
            transport.service();
            return (driver.status() & DeviceStatus.DEVICE_NEEDS_RESET) != 0;
        }, "DEVICE_NEEDS_RESET");
    }

    @Test
    void aDisconnectedDeviceDropsWhatTheGuestSends() {
        start(false);
        tx.add(List.of(new Buf(buffer(withHeader(frame(60, 30))), 72, false)));
        driver.notify(1);
        assertEquals(1, tx.pollUsed().size());
        assertEquals(1, net.stats().txDropped());
        postRx(2048);
        assertFalse(transport.service());
    }

    @Test
    void stateRoundTripsAndBadStateIsRefused() {
        start(false);
        byte[] saved = transport.saveState();
        VirtioNet other = new VirtioNet(new byte[] {2, 0, 0, 0, 0, 9}, null);
        try {
            VirtioMmioTransport t2 = new VirtioMmioTransport(other, memory, () -> {});
            t2.restoreState(saved);
            assertArrayEquals(MAC, other.mac());
            assertEquals(transport.status(), t2.status());
            assertThrows(DeviceStateException.class, () -> other.restoreState(new byte[] {1, 2, 3}));
            byte[] multicast = new NetState(new byte[] {1, 0, 0, 0, 0, 0}).encode();
            assertThrows(DeviceStateException.class, () -> other.restoreState(multicast));
            byte[] trailing = Arrays.copyOf(new NetState(MAC).encode(), 13);
            assertThrows(DeviceStateException.class, () -> other.restoreState(trailing));
            assertArrayEquals(MAC, other.mac(), "a refused state changes nothing");
        } finally {
            other.close();
        }
    }

    @Test
    void tapsAreCheckedWhenOpenedOrAdopted() {
        assertThrows(VmmException.class, () -> Tap.open("much-too-long-name"));
        assertThrows(VmmException.class, () -> Tap.open("bad/name"));
        int fd = Libc.open("/dev/null", Libc.O_RDWR | Libc.O_CLOEXEC, 0);
        VmmException e = assertThrows(VmmException.class, () -> Tap.adopt(fd));
        assertTrue(e.getMessage().contains("TUNGETIFF"), e.getMessage());
        // An fd opened elsewhere (blocking, as a forwarder might hand it over) is adopted as it is.
        Tap adopted = Tap.adopt(rawTapFd("adopt0", Tap.IFF_TAP | Tap.IFF_NO_PI | Tap.IFF_VNET_HDR));
        try {
            assertEquals("adopt0", adopted.name());
            assertEquals(Tap.VNET_HEADER_BYTES, adopted.headerBytes());
            assertEquals(-1, adopted.readFrame(new byte[2048]), "non-blocking now: nothing queued returns at once");
        } finally {
            adopted.close();
        }
        // A borrowed fd: the owner keeps its own, the TAP lives until both are closed.
        int owned = rawTapFd("borrow0", Tap.IFF_TAP | Tap.IFF_NO_PI);
        try (Tap copy = Tap.duplicateOf(owned)) {
            assertEquals("borrow0", copy.name());
            assertEquals(0, copy.headerBytes());
            Libc.close(owned); // the owner lets go first
            ns.exec("ip", "link", "show", "borrow0"); // still there: the duplicate holds it
        }
        assertThrows(IllegalStateException.class, () -> ns.exec("ip", "link", "show", "borrow0"), "gone with the last fd");
        int tun = rawTapFd("adopt1", 0x0001 | Tap.IFF_NO_PI); // IFF_TUN: IP packets, not Ethernet frames
        VmmException notTap = assertThrows(VmmException.class, () -> Tap.adopt(tun));
        assertTrue(notTap.getMessage().contains("must be a TAP"), notTap.getMessage());
        assertThrows(IllegalStateException.class, () -> ns.exec("ip", "link", "show", "adopt1"), "the refused fd was closed");
    }

    /** A TAP fd opened by hand in the test namespace, the way another component might. */
    static int rawTapFd(String name, int flags) {
        return NetnsThread.call(ns.path, () -> {
            int fd = Libc.open("/dev/net/tun", Libc.O_RDWR | Libc.O_CLOEXEC, 0);
            try (Arena a = Arena.ofConfined()) {
                java.lang.foreign.MemorySegment ifr = a.allocate(Tap.IFREQ_BYTES);
                ifr.setString(0, name);
                ifr.set(java.lang.foreign.ValueLayout.JAVA_SHORT, Tap.IFR_FLAGS, (short) flags);
                Libc.ioctl(fd, Tap.TUNSETIFF, ifr, "TUNSETIFF");
            }
            return fd;
        });
    }

    // ---- helpers ----

    static byte[] frame(int length, int seed) {
        byte[] f = new byte[length];
        new java.util.Random(seed).nextBytes(f);
        Arrays.fill(f, 0, 6, (byte) 0xff); // broadcast: the bridge floods it to the other port
        System.arraycopy(PEER_MAC, 0, f, 6, 6);
        f[6] = (byte) (0x0a + 4 * seed); // a unicast source per test frame, never the peer's port MAC
        if (length >= 14) {
            f[12] = (byte) 0x88;
            f[13] = (byte) 0xb5; // local experimental EtherType
        }
        return f;
    }

    static byte[] withHeader(byte[] frame) {
        byte[] b = new byte[12 + frame.length];
        System.arraycopy(frame, 0, b, 12, frame.length);
        return b;
    }

    long buffer(byte[] bytes) {
        long at = driver.alloc(Math.max(1, bytes.length), 8);
        memory.write(at, bytes, 0, bytes.length);
        return at;
    }

    long postRx(int size) {
        long at = driver.alloc(size, 8);
        rx.add(List.of(new Buf(at, size, true)));
        return at;
    }

    byte[] read(long at, int length) {
        byte[] b = new byte[length];
        memory.read(at, b, 0, length);
        return b;
    }

    static void drainPeer() {
        byte[] buf = new byte[2048];
        while (peer.readFrame(buf) >= 0) {
            // earlier traffic
        }
    }

    /** The next {@code n} frames on the peer TAP with the test's EtherType (the bridge may add its own). */
    static List<byte[]> peerFrames(int n) {
        List<byte[]> frames = new ArrayList<>();
        byte[] buf = new byte[2048];
        await(() -> {
            for (int len; frames.size() < n && (len = peer.readFrame(buf)) >= 0; ) {
                if (len >= 14 && buf[12] == (byte) 0x88 && buf[13] == (byte) 0xb5) {
                    frames.add(Arrays.copyOf(buf, len));
                }
            }
            return frames.size() == n;
        }, n + " frames on the peer TAP");
        return frames;
    }

    static void await(BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30); // a hang guard
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for: " + what);
            }
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
    }
}
