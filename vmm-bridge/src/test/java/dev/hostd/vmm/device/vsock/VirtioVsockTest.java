package dev.hostd.vmm.device.vsock;

import static dev.hostd.vmm.device.vsock.FakeVsockGuest.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.hostd.vmm.device.virtio.DeviceStateException;
import dev.hostd.vmm.device.virtio.DeviceStatus;
import dev.hostd.vmm.device.virtio.FakeGuestDriver;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class VirtioVsockTest {
    static final int PORT = 5000;

    /** Host side of one accepted connection that records everything. */
    static final class Recorder implements VsockStreamListener {
        final ByteArrayOutputStream data = new ByteArrayOutputStream();
        final List<String> closed = new ArrayList<>();
        VsockConnection connection;

        @Override public void onData(byte[] bytes) { data.writeBytes(bytes); }
        @Override public void onClosed(String reason) { closed.add(reason); }
    }

    final VirtioVsock vsock = new VirtioVsock(VirtioVsock.GUEST_CID);
    final List<Recorder> accepted = new ArrayList<>();
    FakeVsockGuest guest;

    FakeVsockGuest start() {
        vsock.listen(PORT, c -> {
            Recorder r = new Recorder();
            r.connection = c;
            accepted.add(r);
            return r;
        });
        guest = new FakeVsockGuest(vsock);
        return guest;
    }

    @AfterEach
    void tearDown() {
        if (guest != null) {
            guest.close();
        }
    }

    @Test
    void configSpaceHoldsTheGuestCid() {
        FakeVsockGuest g = start();
        assertEquals(19, g.driver.reg(FakeGuestDriver.DEVICE_ID));
        assertEquals(3L, g.transport.read(FakeGuestDriver.CONFIG, 8));
        assertEquals(3L, g.transport.read(FakeGuestDriver.CONFIG, 4));
        assertEquals(0L, g.transport.read(FakeGuestDriver.CONFIG + 4, 4));
        assertEquals(0L, g.transport.read(FakeGuestDriver.CONFIG + 8, 4));
        assertThrows(IllegalArgumentException.class, () -> new VirtioVsock(2));
    }

    @Test
    void guestConnectsAndDataFlowsBothWays() {
        FakeVsockGuest g = start();
        assertEquals(RESPONSE, g.connect(40000, PORT));
        assertEquals(1, accepted.size());
        VsockConnection c = accepted.getFirst().connection;
        assertEquals(40000, c.guestPort());
        assertEquals(PORT, c.hostPort());
        assertTrue(c.isOpen());
        Packet response = g.ops(RESPONSE).getFirst();
        assertEquals(2, response.srcCid());
        assertEquals(3, response.dstCid());
        assertEquals(16 << 20, response.bufAlloc());

        g.write(40000, PORT, "hello host".getBytes());
        assertEquals("hello host", accepted.getFirst().data.toString());

        c.send("hello guest".getBytes());
        assertEquals(0, g.read(40000).length, "nothing is delivered until the vCPU services the device");
        assertTrue(g.service());
        assertEquals("hello guest", new String(g.read(40000)));
    }

    @Test
    void largeTransfersAreSplitIntoPacketsAndReassembled() {
        FakeVsockGuest g = start();
        g.connect(40001, PORT);
        byte[] big = new byte[200_000];
        new Random(1).nextBytes(big);
        accepted.getFirst().connection.send(big);
        g.service();
        assertArrayEquals(big, g.read(40001));
        assertTrue(g.ops(RW).stream().allMatch(p -> p.payload().length <= 4096), "packets fit the guest's rx buffers");

        byte[] up = new byte[300_000]; // guest -> host in 64 KiB packets, header and payload in one or two descriptors
        new Random(2).nextBytes(up);
        g.write(40001, PORT, up);
        assertArrayEquals(up, accepted.getFirst().data.toByteArray());
    }

    @Test
    void hostStopsAtTheGuestCreditAndResumesOnCreditUpdate() {
        FakeVsockGuest g = start();
        g.bufAlloc = 16 << 10;
        g.autoConsume = false;
        g.connect(40002, PORT);
        byte[] data = new byte[40 << 10];
        new Random(3).nextBytes(data);
        accepted.getFirst().connection.send(data);
        g.service();
        byte[] first = g.read(40002);
        assertEquals(16 << 10, first.length, "exactly the guest's buffer");
        assertEquals(1, g.ops(CREDIT_REQUEST).size(), "the blocked host asks once for credit");
        assertFalse(g.service(), "still blocked: nothing more");
        assertEquals(1, g.ops(CREDIT_REQUEST).size());

        g.consume(40002, PORT); // CREDIT_UPDATE: another 16 KiB free
        byte[] second = g.read(40002);
        assertEquals(16 << 10, second.length);
        g.consume(40002, PORT);
        byte[] third = g.read(40002);
        assertEquals(8 << 10, third.length);
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        all.writeBytes(first);
        all.writeBytes(second);
        all.writeBytes(third);
        assertArrayEquals(data, all.toByteArray());
        assertEquals(0, accepted.getFirst().connection.queuedBytes());
    }

    @Test
    void guestCreditRequestIsAnswered() {
        FakeVsockGuest g = start();
        g.connect(40003, PORT);
        g.write(40003, PORT, new byte[1000]);
        g.send(CREDIT_REQUEST, 40003, PORT);
        List<Packet> updates = g.ops(CREDIT_UPDATE);
        assertEquals(1, updates.size());
        assertEquals(16 << 20, updates.getFirst().bufAlloc());
        assertEquals(1000, updates.getFirst().fwdCnt());
    }

    @Test
    void hostAdvertisesCreditAfterHalfItsBufferIsForwarded() {
        FakeVsockGuest g = start();
        g.connect(40004, PORT);
        g.write(40004, PORT, new byte[8 << 20]);
        assertEquals(0, g.ops(CREDIT_UPDATE).size(), "exactly half: not yet");
        g.write(40004, PORT, new byte[1]);
        List<Packet> updates = g.ops(CREDIT_UPDATE);
        assertEquals(1, updates.size());
        assertEquals((8 << 20) + 1, updates.getFirst().fwdCnt());
    }

    @Test
    void resetsForUnlistenedPortsUnknownConnectionsAndRefusals() {
        FakeVsockGuest g = start();
        assertEquals(RST, g.connect(40005, 6000), "nobody listens on 6000");
        g.send(RW, 40006, PORT, 0, new byte[] {1}, false);
        Packet rst = g.ops(RST).getLast();
        assertEquals(40006, rst.dstPort());
        assertEquals(PORT, rst.srcPort());
        int resets = g.ops(RST).size();
        g.send(RST, 40007, PORT);
        assertEquals(resets, g.ops(RST).size(), "a reset is never answered with a reset");
        vsock.listen(7000, c -> null);
        assertEquals(RST, g.connect(40008, 7000), "the acceptor refused");
        vsock.listen(7001, c -> { throw new IllegalStateException("boom"); });
        assertEquals(RST, g.connect(40009, 7001), "a failing acceptor refuses");
        assertEquals(0, vsock.connectionCount());
    }

    @Test
    void guestShutdownAndResetCloseTheConnection() {
        FakeVsockGuest g = start();
        g.connect(40010, PORT);
        g.send(SHUTDOWN, 40010, PORT, 2, new byte[0], false);
        assertTrue(accepted.getFirst().closed.isEmpty(), "half-closed: the host may still send");
        g.send(SHUTDOWN, 40010, PORT, 1, new byte[0], false);
        assertEquals(List.of("shut down by the guest"), accepted.getFirst().closed);
        assertEquals(40010, g.ops(RST).getLast().dstPort(), "the host completes the close with RST");
        assertFalse(accepted.getFirst().connection.isOpen());
        assertThrows(IllegalStateException.class, () -> accepted.getFirst().connection.send(new byte[1]));

        g.connect(40011, PORT);
        g.send(RST, 40011, PORT);
        assertEquals(List.of("reset by the guest"), accepted.get(1).closed);
        assertEquals(0, vsock.connectionCount());
    }

    @Test
    void hostCloseDeliversQueuedDataThenShutdown() {
        FakeVsockGuest g = start();
        g.connect(40012, PORT);
        VsockConnection c = accepted.getFirst().connection;
        c.send("last words".getBytes());
        c.close();
        assertFalse(c.isOpen());
        g.service();
        assertEquals("last words", new String(g.read(40012)));
        Packet shutdown = g.ops(SHUTDOWN).getFirst();
        assertEquals(3, shutdown.flags());
        assertEquals(List.of("closed by the host"), accepted.getFirst().closed);
        int resets = g.ops(RST).size();
        g.send(RST, 40012, PORT); // the guest's answer to our shutdown
        assertEquals(resets, g.ops(RST).size());
    }

    @Test
    void serviceDeliversDataQueuedFromAnotherThreadAndWakes() throws Exception {
        FakeVsockGuest g = start();
        g.connect(40013, PORT);
        VsockConnection c = accepted.getFirst().connection;
        int wakesBefore = g.wakes.get();
        Thread t = Thread.ofPlatform().start(() -> {
            for (int i = 0; i < 100; i++) {
                c.send(new byte[] {(byte) i});
            }
        });
        t.join();
        assertTrue(g.wakes.get() > wakesBefore, "send() wakes the guest");
        assertTrue(g.transport.service(), "service() put packets in the used ring");
        g.poll();
        byte[] got = g.read(40013);
        assertEquals(100, got.length);
        for (int i = 0; i < 100; i++) {
            assertEquals((byte) i, got[i]);
        }
        assertFalse(g.transport.service(), "nothing left");
    }

    @Test
    void aTransportResetDropsEveryConnectionAndTellsTheGuestOnItsEventQueue() {
        FakeVsockGuest g = start();
        g.connect(40014, PORT);
        g.postEventBuffer();
        assertEquals(List.of(), g.pollEvents(), "no event before a reset");
        vsock.transportReset();
        assertEquals(List.of(0), g.pollEvents(), "VIRTIO_VSOCK_EVENT_TRANSPORT_RESET");
        assertEquals(0, vsock.connectionCount());
        assertEquals(List.of("transport reset"), accepted.getFirst().closed);
        g.connect(40015, PORT); // the guest connects again, as Linux's agent does after the event
        assertEquals(1, vsock.connectionCount());
    }

    @Test
    void aTransportResetWithoutAnEventBufferWaitsForOneAndIsToldOnce() {
        FakeVsockGuest g = start();
        vsock.transportReset();
        assertFalse(g.transport.service(), "nowhere to put the event yet");
        g.postEventBuffer(); // the driver's notify on the event queue delivers it
        assertEquals(List.of(0), g.pollEvents());
        g.postEventBuffer();
        assertFalse(g.transport.service());
        assertEquals(List.of(), g.pollEvents(), "one reset, one event");
    }

    @Test
    void badTxPacketsAreDroppedButAHeaderlessChainNeedsReset() {
        FakeVsockGuest g = start();
        g.connect(40014, PORT);
        g.send(RW, 40014, PORT, 0, new byte[10], true, 5000); // len claims more than the chain holds
        assertEquals(0, accepted.getFirst().data.size());
        assertEquals(0, g.transport.status() & DeviceStatus.DEVICE_NEEDS_RESET);
        g.write(40014, PORT, "ok".getBytes());
        assertEquals("ok", accepted.getFirst().data.toString());

        long buf = g.driver.alloc(16, 8);
        g.tx.add(List.of(new dev.hostd.vmm.device.virtio.GuestQueue.Buf(buf, 16, false)));
        assertDoesNotThrow(() -> g.driver.notify(1));
        assertNotEquals(0, g.transport.status() & DeviceStatus.DEVICE_NEEDS_RESET);
    }

    @Test
    void resetAndRestoreDropConnectionsButKeepTheCid() {
        FakeVsockGuest g = start();
        g.connect(40015, PORT);
        byte[] saved = g.transport.saveState();
        byte[] deviceState = vsock.saveState();
        assertEquals(4 + 2 + 8, deviceState.length);

        VirtioVsock other = new VirtioVsock(1234);
        other.restoreState(deviceState);
        assertEquals(3, other.guestCid());

        g.transport.restoreState(saved);
        assertEquals(List.of("device restored"), accepted.getFirst().closed);
        assertEquals(0, vsock.connectionCount());
        assertNotEquals(0, g.transport.status() & DeviceStatus.DRIVER_OK);
        assertEquals(RESPONSE, g.connect(40016, PORT), "the restored device accepts new connections");

        g.driver.setReg(FakeGuestDriver.STATUS, 0);
        assertEquals(List.of("device reset"), accepted.get(1).closed);
    }

    @Test
    void restoreRefusesBadVsockState() {
        byte[] good = new VsockState(3).encode();
        byte[] badMagic = good.clone();
        badMagic[0] ^= 1;
        assertRefused(new byte[0], "truncated");
        assertRefused(java.util.Arrays.copyOf(good, 9), "truncated");
        assertRefused(badMagic, "bad magic");
        assertRefused(new VsockState(2).encode(), "guest cid 2 is reserved");
        assertRefused(java.util.Arrays.copyOf(good, good.length + 1), "trailing");
        assertEquals(3, vsock.guestCid(), "refused restores change nothing");
    }

    private void assertRefused(byte[] bytes, String part) {
        DeviceStateException e = assertThrows(DeviceStateException.class, () -> vsock.restoreState(bytes));
        assertTrue(e.getMessage().startsWith("vsock state: ") && e.getMessage().contains(part), e.getMessage());
    }
}
