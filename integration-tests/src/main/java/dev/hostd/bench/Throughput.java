package dev.hostd.bench;

import dev.hostd.net.Ipv4;
import dev.hostd.net.internal.Libc;
import dev.hostd.net.internal.NetnsThread;
import dev.hostd.net.testbed.Testbed;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * UDP throughput from a raw frame generator: one thread writes the same Ethernet frame to an fd
 * (a sandbox's TAP, or an AF_PACKET socket on a veth) as fast as the kernel takes it; what arrives
 * is counted on the receiving device (the kernel's rx_packets) and by a UDP socket draining it.
 */
final class Throughput {
    private Throughput() {}

    record Result(long sent, long writeErrors, long deviceReceived, long socketReceived, double seconds) {
        double devicePps() {
            return deviceReceived / seconds;
        }

        double mbits(int frameBytes) {
            return devicePps() * frameBytes * 8 / 1e6;
        }

        void put(Map<String, Object> json, String prefix, int frameBytes) {
            json.put(prefix + "sent_pps", NetworkBenchmark.round(sent / seconds));
            json.put(prefix + "delivered_pps", NetworkBenchmark.round(devicePps()));
            json.put(prefix + "socket_pps", NetworkBenchmark.round(socketReceived / seconds));
            json.put(prefix + "mbit_s", NetworkBenchmark.round(mbits(frameBytes)));
        }
    }

    static String row(String label, int frameBytes, Result r) {
        return String.format(Locale.ROOT, "| %-44s | %5d | %10.0f | %10.0f | %10.0f | %8.1f |", label, frameBytes, r.sent() / r.seconds(),
                r.devicePps(), r.socketReceived() / r.seconds(), r.mbits(frameBytes));
    }

    static void warm(int fd, byte[] frame) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocateFrom(ValueLayout.JAVA_BYTE, frame);
            for (int i = 0; i < 20_000; i++) {
                Libc.writeRaw(fd, seg);
            }
        }
    }

    static Result run(int fd, byte[] frame, double seconds, String rxNamespace, String rxDevice, Sink sink) throws InterruptedException {
        long rx0 = rxPackets(rxNamespace, rxDevice), s0 = sink.count();
        long sent = 0, errors = 0;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocateFrom(ValueLayout.JAVA_BYTE, frame);
            long start = System.nanoTime(), end = start + (long) (seconds * 1e9);
            while (true) {
                for (int i = 0; i < 256; i++) {
                    if (Libc.writeRaw(fd, seg) > 0) {
                        sent++;
                    } else {
                        errors++;
                    }
                }
                if (System.nanoTime() >= end) {
                    break;
                }
            }
            seconds = (System.nanoTime() - start) / 1e9;
        }
        Thread.sleep(300); // let queued packets drain
        return new Result(sent, errors, rxPackets(rxNamespace, rxDevice) - rx0, sink.count() - s0, seconds);
    }

    static long rxPackets(String ns, String dev) {
        String out = Testbed.ip(ns, "-s", "-j", "link", "show", "dev", dev);
        Matcher m = Pattern.compile("\"rx\":\\{\"bytes\":\\d+,\"packets\":(\\d+)").matcher(out);
        if (!m.find()) {
            throw new IllegalStateException("no rx packet count for " + dev + " in " + ns + ": " + out);
        }
        return Long.parseLong(m.group(1));
    }

    /** A UDP socket in a namespace, drained by a thread that counts datagrams. */
    static final class Sink implements AutoCloseable {
        private final DatagramChannel channel;
        private final AtomicLong count = new AtomicLong();

        private Sink(DatagramChannel channel) {
            this.channel = channel;
        }

        static Sink open(String ns, int port, int ip) throws IOException {
            DatagramChannel c = Testbed.udpSocket(ns, ip, port);
            c.setOption(StandardSocketOptions.SO_RCVBUF, 4 << 20);
            Sink s = new Sink(c);
            Thread.ofPlatform().daemon().name("sink-" + ns).start(s::drain);
            return s;
        }

        private void drain() {
            ByteBuffer b = ByteBuffer.allocateDirect(65536);
            try {
                while (true) {
                    b.clear();
                    channel.receive(b);
                    count.incrementAndGet();
                }
            } catch (ClosedChannelException e) {
                // closed
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }

        long count() {
            return count.get();
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }

    /**
     * The baseline path: namespaces {@code <prefix>vs} and {@code <prefix>vr} joined by a veth pair;
     * frames are written to an AF_PACKET socket on the sender's end and the receiver holds the sink
     * address. No bridge, no rules, no tunnel. The testbed deletes both namespaces (its prefix).
     */
    static final class VethPair implements AutoCloseable {
        /** The namespace of the sender's end (bridge {@code br0} with {@code vs0}). */
        String senderNamespace() {
            return receiver.substring(0, receiver.length() - 2) + "vs";
        }

        static final byte[] SENDER_MAC = {2, 0x76, 0x65, 0x74, 0x68, 1}, RECEIVER_MAC = {2, 0x76, 0x65, 0x74, 0x68, 2};
        private final String receiver;
        private final int packetFd;
        private final Sink sink;

        private VethPair(String receiver, int packetFd, Sink sink) {
            this.receiver = receiver;
            this.packetFd = packetFd;
            this.sink = sink;
        }

        static VethPair create(String prefix, int sinkIp, int sinkPort) throws IOException {
            String tx = prefix + "vs", rx = prefix + "vr";
            Testbed.sh("ip", "netns", "add", tx);
            Testbed.sh("ip", "netns", "add", rx);
            Testbed.ip(tx, "link", "add", "vs0", "address", mac(SENDER_MAC), "mtu", "1450", "type", "veth", "peer", "name", "vr0", "address", mac(RECEIVER_MAC),
                    "mtu", "1450", "netns", rx);
            Testbed.ip(tx, "link", "set", "vs0", "up");
            // a bridge on the sender's end, so a guest's TAP can send over the same veth pair
            Testbed.ip(tx, "link", "add", "br0", "type", "bridge");
            Testbed.ip(tx, "link", "set", "vs0", "master", "br0");
            Testbed.ip(tx, "link", "set", "br0", "up");
            Testbed.ip(rx, "link", "set", "lo", "up");
            Testbed.ip(rx, "addr", "add", Ipv4.format(sinkIp) + "/32", "dev", "vr0");
            Testbed.ip(rx, "addr", "add", "198.18.0.1/24", "dev", "vr0"); // a guest's gateway, answering its ARP
            Testbed.ip(rx, "link", "set", "vr0", "up");
            Testbed.ip(rx, "route", "add", "198.18.0.0/15", "dev", "vr0");
            int fd;
            try (NetnsThread in = NetnsThread.enter(tx)) {
                fd = in.call(() -> {
                    int s = Libc.socket(Libc.AF_PACKET, Libc.SOCK_RAW, 0, "socket(AF_PACKET)"); // protocol 0: send only
                    try (Arena arena = Arena.ofConfined()) {
                        MemorySegment sll = arena.allocate(20); // sockaddr_ll
                        sll.set(ValueLayout.JAVA_SHORT, 0, (short) Libc.AF_PACKET);
                        sll.set(ValueLayout.JAVA_INT, 4, Libc.ifNameToIndex("vs0"));
                        Libc.bind(s, sll, "bind AF_PACKET to vs0");
                    }
                    return s;
                });
            }
            return new VethPair(rx, fd, Sink.open(rx, sinkPort, sinkIp));
        }

        int packetFd() {
            return packetFd;
        }

        String receiverNamespace() {
            return receiver;
        }

        Sink sink() {
            return sink;
        }

        byte[] senderMac() {
            return SENDER_MAC.clone();
        }

        byte[] receiverMac() {
            return RECEIVER_MAC.clone();
        }

        private static String mac(byte[] m) {
            return HexFormat.ofDelimiter(":").formatHex(m);
        }

        @Override
        public void close() throws IOException {
            Libc.close(packetFd);
            sink.close();
        }
    }
}
