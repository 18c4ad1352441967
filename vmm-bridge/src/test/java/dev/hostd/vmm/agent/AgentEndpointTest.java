package dev.hostd.vmm.agent;

import static dev.hostd.vmm.device.vsock.FakeVsockGuest.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.hostd.vmm.device.vsock.FakeVsockGuest;
import dev.hostd.vmm.device.vsock.VirtioVsock;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class AgentEndpointTest {
    static final int PORT = AgentEndpoint.AGENT_PORT;

    final VirtioVsock vsock = new VirtioVsock(VirtioVsock.GUEST_CID);
    final AgentEndpoint agent = new AgentEndpoint(vsock);
    final FakeVsockGuest guest = new FakeVsockGuest(vsock);

    @AfterEach
    void tearDown() {
        guest.close();
    }

    record Frame(int type, long id, byte[] payload) {}

    static byte[] frame(int type, long id, byte[] payload) {
        return ByteBuffer.allocate(16 + payload.length).order(ByteOrder.LITTLE_ENDIAN)
                .putInt(payload.length).putShort((short) type).putShort((short) 0).putLong(id).put(payload).array();
    }

    static List<Frame> frames(byte[] stream) {
        List<Frame> out = new ArrayList<>();
        ByteBuffer b = ByteBuffer.wrap(stream).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            int len = b.getInt();
            int type = b.getShort();
            b.getShort();
            long id = b.getLong();
            byte[] p = new byte[len];
            b.get(p);
            out.add(new Frame(type, id, p));
        }
        return out;
    }

    static byte[] identity(long generation) {
        ByteBuffer b = ByteBuffer.allocate(IdentityReport.SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, 0x54444948).putShort(4, (short) 1).putShort(6, (short) 0x110).putLong(8, generation);
        b.put(0x10, new byte[] {2, 0, 0, 0, 0, 7});
        b.put(0x18, new byte[] {10, 0, 0, 2}).put(0x1C, (byte) 24);
        b.put(0x20, new byte[] {10, 0, 0, 1});
        b.put(0x28, "sandbox-7".getBytes(StandardCharsets.US_ASCII));
        b.put(0x68, "sb-0007".getBytes(StandardCharsets.US_ASCII));
        b.put(0xA8, "tenant-a".getBytes(StandardCharsets.US_ASCII));
        byte[] seedHash = new byte[32];
        Arrays.fill(seedHash, (byte) 0x5a);
        b.put(0xE8, seedHash).putLong(0x108, 1_700_000_000_000_000_000L);
        b.putInt(0x110, 1).putInt(0x114, 2);
        return b.array();
    }

    static byte[] result(int status, byte[] output) {
        return ByteBuffer.allocate(4 + output.length).order(ByteOrder.LITTLE_ENDIAN).putInt(status).put(output).array();
    }

    /** The INVOKE frames the host has sent to the guest's {@code port} so far. */
    List<Frame> invokes(int port) {
        guest.service();
        return frames(guest.read(port));
    }

    static Throwable failure(CompletableFuture<?> f) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> f.get());
        return e.getCause();
    }

    @Test
    void identityReportParsesStrictly() {
        IdentityReport r = IdentityReport.parse(identity(5));
        assertEquals(5, r.generation());
        assertArrayEquals(new byte[] {2, 0, 0, 0, 0, 7}, r.mac());
        assertArrayEquals(new byte[] {10, 0, 0, 2}, r.ipv4());
        assertEquals(24, r.prefixLength());
        assertArrayEquals(new byte[] {10, 0, 0, 1}, r.gateway());
        assertEquals("sandbox-7", r.hostname());
        assertEquals("sb-0007", r.sandboxId());
        assertEquals("tenant-a", r.tenantId());
        assertEquals(0x5a, r.seedSha256()[31]);
        assertEquals(1_700_000_000_000_000_000L, r.wallClockNanos());
        assertEquals(1, r.agentVersion());
        assertEquals(2, r.identitiesSeen());
        assertEquals(r, IdentityReport.parse(identity(5)));

        assertBad(Arrays.copyOf(identity(5), 100), "bad length");
        assertBad(patch(identity(5), 0, 0), "bad magic");
        assertBad(identity(0), "bad generation");
        assertBad(patch(identity(5), 0x1C, 33), "bad prefix_length");
        byte[] noNul = identity(5);
        Arrays.fill(noNul, 0x68, 0xA8, (byte) 'x');
        assertBad(noNul, "bad sandbox_id");
        assertBad(patch(identity(5), 0x110, 2), "bad agent_version");
        assertBad(patch(identity(5), 0x114, 0), "bad identities_seen");
    }

    private static byte[] patch(byte[] b, int offset, int value) {
        b[offset] = (byte) value;
        return b;
    }

    private static void assertBad(byte[] payload, String part) {
        AgentProtocolException e = assertThrows(AgentProtocolException.class, () -> IdentityReport.parse(payload));
        assertTrue(e.getMessage().contains(part), e.getMessage());
    }

    @Test
    void helloSplitIntoSingleBytesCompletesExpectHello() throws Exception {
        CompletableFuture<IdentityReport> hello = agent.expectHello();
        assertFalse(agent.connected());
        assertEquals(RESPONSE, guest.connect(50000, PORT));
        assertTrue(agent.connected());
        byte[] f = frame(1, 0, identity(9));
        for (byte b : f) {
            assertFalse(hello.isDone());
            guest.write(50000, PORT, new byte[] {b});
        }
        assertEquals(9, hello.get().generation());
        CompletableFuture<IdentityReport> next = agent.expectHello();
        assertFalse(next.isDone(), "only HELLOs after the call count");
    }

    @Test
    void invokeMatchesResultsByRequestIdAcrossArbitrarySplits() throws Exception {
        guest.connect(50001, PORT);
        CompletableFuture<InvokeResult> echo = agent.invoke("echo", "ping".getBytes());
        CompletableFuture<InvokeResult> sha = agent.invoke("sha256", new byte[] {1, 2, 3});
        List<Frame> sent = invokes(50001);
        assertEquals(2, sent.size());
        assertEquals(2, sent.get(0).type());
        assertNotEquals(sent.get(0).id(), sent.get(1).id());
        assertArrayEquals("\u0004echoping".getBytes(StandardCharsets.US_ASCII), sent.get(0).payload());
        assertArrayEquals(new byte[] {6, 's', 'h', 'a', '2', '5', '6', 1, 2, 3}, sent.get(1).payload());

        // Answer out of order, both frames in one byte stream cut at odd places.
        byte[] a = frame(3, sent.get(1).id(), result(0, new byte[32]));
        byte[] b = frame(3, sent.get(0).id(), result(0, "ping".getBytes()));
        byte[] stream = new byte[a.length + b.length];
        System.arraycopy(a, 0, stream, 0, a.length);
        System.arraycopy(b, 0, stream, a.length, b.length);
        int[] cuts = {0, 7, 19, 53, a.length + 3, stream.length};
        for (int i = 0; i + 1 < cuts.length; i++) {
            guest.write(50001, PORT, Arrays.copyOfRange(stream, cuts[i], cuts[i + 1]));
        }
        assertEquals(new InvokeResult(0, "ping".getBytes()), echo.get());
        assertEquals(32, sha.get().output().length);
        assertTrue(sha.get().ok());
        assertEquals("UNKNOWN_FUNCTION", new InvokeResult(1, new byte[0]).statusName());
        assertEquals("PAYLOAD_TOO_LARGE", InvokeResult.statusName(3));
    }

    @Test
    void invokeFailsFastWithoutConnectionOrWhenTooLarge() {
        assertInstanceOf(AgentException.class, failure(agent.invoke("echo", new byte[0])));
        guest.connect(50002, PORT);
        int max = AgentEndpoint.MAX_PAYLOAD - 1 - 4;
        Throwable tooBig = failure(agent.invoke("echo", new byte[max + 1]));
        assertTrue(tooBig.getMessage().contains("exceeds the limit of " + max), tooBig.getMessage());
        assertFalse(agent.invoke("echo", new byte[max]).isDone(), "the largest argument is sent");
        assertInstanceOf(AgentException.class, failure(agent.invoke("", new byte[0])));
        assertInstanceOf(AgentException.class, failure(agent.invoke("é", new byte[0])));
    }

    @Test
    void aNewConnectionReplacesTheOldAndFailsItsPendingInvokes() throws Exception {
        guest.connect(50003, PORT);
        CompletableFuture<InvokeResult> pending = agent.invoke("spin", new byte[] {100, 0, 0, 0});
        invokes(50003);
        assertEquals(RESPONSE, guest.connect(50004, PORT));
        Throwable t = failure(pending);
        assertInstanceOf(AgentException.class, t);
        assertTrue(t.getMessage().contains("replaced"), t.getMessage());
        guest.service();
        assertTrue(guest.ops(SHUTDOWN).stream().anyMatch(p -> p.dstPort() == 50003), "the old connection is shut down");

        CompletableFuture<InvokeResult> fresh = agent.invoke("echo", new byte[] {42});
        Frame f = invokes(50004).getFirst();
        guest.write(50004, PORT, frame(3, f.id(), result(0, new byte[] {42})));
        assertArrayEquals(new byte[] {42}, fresh.get().output());
        // A late RESULT on the replaced connection is refused at the vsock level (it is gone).
        guest.write(50003, PORT, frame(3, 1, result(0, new byte[0])));
        assertEquals(50003, guest.ops(RST).getLast().dstPort());
    }

    @Test
    void guestResetFailsPendingInvokes() {
        guest.connect(50005, PORT);
        CompletableFuture<InvokeResult> pending = agent.invoke("echo", new byte[1]);
        guest.send(RST, 50005, PORT);
        assertTrue(failure(pending).getMessage().contains("reset by the guest"));
        assertFalse(agent.connected());
    }

    @Test
    void oversizeOrUnexpectedFramesFromTheGuestAreProtocolErrors() {
        guest.connect(50006, PORT);
        CompletableFuture<InvokeResult> pending = agent.invoke("echo", new byte[1]);
        byte[] header = frame(3, 1, new byte[0]);
        ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN).putInt(0, (1 << 20) + 1);
        guest.write(50006, PORT, header);
        Throwable t = failure(pending);
        assertInstanceOf(AgentProtocolException.class, t);
        assertTrue(t.getMessage().contains("exceeds the 1 MiB limit"), t.getMessage());
        assertFalse(agent.connected());

        guest.connect(50007, PORT);
        CompletableFuture<InvokeResult> second = agent.invoke("echo", new byte[1]);
        guest.write(50007, PORT, frame(2, 0, new byte[0]));
        assertInstanceOf(AgentProtocolException.class, failure(second));
    }

    @Test
    void closeFailsEverythingAndRefusesLaterConnections() {
        guest.connect(50008, PORT);
        CompletableFuture<IdentityReport> hello = agent.expectHello();
        CompletableFuture<InvokeResult> pending = agent.invoke("echo", new byte[1]);
        agent.close();
        assertInstanceOf(AgentException.class, failure(hello));
        assertInstanceOf(AgentException.class, failure(pending));
        assertFalse(agent.connected());
        assertEquals(RST, guest.connect(50009, PORT));
        assertInstanceOf(AgentException.class, failure(agent.expectHello()));
    }
}
