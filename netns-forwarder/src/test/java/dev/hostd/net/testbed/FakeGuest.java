package dev.hostd.net.testbed;

import dev.hostd.net.Lease;
import dev.hostd.net.SandboxPort;
import dev.hostd.net.internal.Libc;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.function.Predicate;

/**
 * Stands in for a guest on the other end of a sandbox's TAP: reads and writes raw Ethernet frames
 * on the TAP fd (what a virtio-net back-end does), answers ARP for its own address, and offers
 * ping and UDP request/response, using the MAC and address of the sandbox's lease. Not
 * thread-safe; borrows the fd (the port owns it).
 */
public final class FakeGuest implements AutoCloseable {
    private final int fd;
    private final Lease lease;
    private final byte[] mac;
    private final Arena arena = Arena.ofConfined();
    private final MemorySegment buffer = arena.allocate(65536);
    private byte[] gatewayMac;
    private int seq;

    public FakeGuest(SandboxPort port) {
        this.fd = port.tapFd();
        this.lease = port.lease();
        this.mac = lease.mac();
    }

    public byte[] mac() {
        return mac.clone();
    }

    public int ip() {
        return lease.ipv4();
    }

    /** Writes one frame as is (spoofed or not). */
    public void send(byte[] frame) {
        MemorySegment s = buffer.asSlice(0, frame.length);
        MemorySegment.copy(frame, 0, s, ValueLayout.JAVA_BYTE, 0, frame.length);
        Libc.write(fd, s, "write TAP");
    }

    /**
     * Reads frames until one matches or {@code timeoutMillis} pass (answering ARP requests for our
     * address on the way, as a guest would); returns null on timeout.
     */
    public Frames.Parsed await(Predicate<Frames.Parsed> match, int timeoutMillis) {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        while (true) {
            int left = (int) ((deadline - System.nanoTime()) / 1_000_000L);
            if (left <= 0 || !Libc.pollIn(fd, left)) {
                return null;
            }
            int n = Libc.read(fd, buffer, "read TAP");
            Frames.Parsed p = Frames.Parsed.of(buffer.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE));
            if (p.etherType() == Frames.ETH_ARP && p.arpOp() == 1 && p.dstIp() == lease.ipv4()) {
                send(Frames.arpReply(mac, lease.ipv4(), p.srcMac(), p.srcIp()));
                continue;
            }
            if (match.test(p)) {
                return p;
            }
        }
    }

    /** Everything that arrives within {@code millis}, ARP for us answered; for "nothing got through" checks. */
    public java.util.List<Frames.Parsed> drain(int millis) {
        java.util.List<Frames.Parsed> seen = new java.util.ArrayList<>();
        await(p -> {
            seen.add(p);
            return false;
        }, millis);
        return seen;
    }

    /** The gateway's MAC, by ARP; null if nobody answers. */
    public byte[] resolveGateway(int timeoutMillis) {
        if (gatewayMac == null) {
            send(Frames.arpRequest(mac, lease.ipv4(), lease.gateway()));
            Frames.Parsed reply = await(p -> p.etherType() == Frames.ETH_ARP && p.arpOp() == 2 && p.srcIp() == lease.gateway(), timeoutMillis);
            gatewayMac = reply == null ? null : reply.payload();
        }
        return gatewayMac;
    }

    /** Sends a UDP datagram via the gateway and returns the reply's payload, or null on timeout. */
    public byte[] udpRequest(int dstIp, int dstPort, byte[] payload, int timeoutMillis) {
        byte[] gw = resolveGateway(timeoutMillis);
        if (gw == null) {
            return null;
        }
        int srcPort = 40000 + (seq++ & 0x3FFF);
        send(Frames.udp(mac, gw, lease.ipv4(), dstIp, srcPort, dstPort, payload));
        Frames.Parsed r = await(p -> p.proto() == Frames.PROTO_UDP && p.srcIp() == dstIp && p.dstPort() == srcPort, timeoutMillis);
        return r == null ? null : r.payload();
    }

    /** Pings {@code dstIp} via the gateway; true if the echo reply came back. */
    public boolean ping(int dstIp, int timeoutMillis) {
        byte[] gw = resolveGateway(timeoutMillis);
        if (gw == null) {
            return false;
        }
        int s = ++seq;
        byte[] data = ("ping " + s).getBytes();
        send(Frames.icmpEcho(mac, gw, lease.ipv4(), dstIp, 0x4242, s, data));
        return await(p -> p.proto() == Frames.PROTO_ICMP && p.icmpType() == 0 && p.srcIp() == dstIp && Arrays.equals(p.payload(), data), timeoutMillis) != null;
    }

    @Override
    public void close() {
        arena.close();
    }
}
