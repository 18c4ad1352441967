package dev.hostd.guest;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Arguments and results of the test guest's network functions ({@code ping}, {@code udp},
 * {@code udpflood}; docs/guest-abi.md), for whoever invokes them: tests and benchmarks call
 * {@code invoke(FUNCTION, TestGuestNet.xxx(...))} and parse the output with the matching record.
 */
public final class TestGuestNet {
    public static final String PING = "ping", UDP = "udp", UDP_FLOOD = "udpflood";
    /** The RTT of an echo or datagram that got no reply within a second. */
    public static final long LOST = 0xFFFF_FFFFL;
    public static final int MAX_COUNT = 1000, MAX_UDP_PAYLOAD = 1472;

    private TestGuestNet() {}

    /** {@code ping}: {@code count} echo requests (56 data bytes) to {@code ipv4}, one at a time. */
    public static byte[] ping(byte[] ipv4, int count) {
        return le(8).put(ip(ipv4)).putInt(count).array();
    }

    /** {@code udp}: {@code count} datagrams to {@code ipv4:port}, each waiting up to 1 s for its reply. */
    public static byte[] udp(byte[] ipv4, int port, int count, byte[] payload) {
        return le(8 + payload.length).put(ip(ipv4)).putShort((short) port).putShort((short) count).put(payload).array();
    }

    /** {@code udpflood}: {@code count} datagrams of {@code size} payload bytes to {@code ipv4:port}, as fast as the device takes them. */
    public static byte[] udpFlood(byte[] ipv4, int port, int size, long count) {
        return le(12).put(ip(ipv4)).putShort((short) port).putShort((short) size).putInt((int) count).array();
    }

    /** What {@code ping} and {@code udp} report: one RTT in nanoseconds per request sent ({@link #LOST} if none came). */
    public record Replies(int sent, int received, long[] rttNanos, byte[] lastReply) {
        public static Replies parsePing(byte[] output) {
            return parse(output, false);
        }

        public static Replies parseUdp(byte[] output) {
            return parse(output, true);
        }

        private static Replies parse(byte[] output, boolean withReply) {
            ByteBuffer b = ByteBuffer.wrap(output).order(ByteOrder.LITTLE_ENDIAN);
            try {
                int sent = b.getInt(), received = b.getInt();
                long[] rtt = new long[sent];
                for (int i = 0; i < sent; i++) {
                    rtt[i] = Integer.toUnsignedLong(b.getInt());
                }
                byte[] last = new byte[0];
                if (withReply) {
                    last = new byte[Short.toUnsignedInt(b.getShort())];
                    b.get(last);
                }
                if (b.hasRemaining()) {
                    throw new IllegalArgumentException(b.remaining() + " unexpected bytes after the result");
                }
                return new Replies(sent, received, rtt, last);
            } catch (BufferUnderflowException | NegativeArraySizeException e) {
                throw new IllegalArgumentException("truncated result of " + output.length + " bytes");
            }
        }

        @Override
        public long[] rttNanos() {
            return rttNanos.clone();
        }

        @Override
        public byte[] lastReply() {
            return lastReply.clone();
        }

        @Override
        public String toString() {
            return "Replies[sent=" + sent + ", received=" + received + ", rttNanos=" + Arrays.toString(rttNanos) + "]";
        }
    }

    /** What {@code udpflood} reports: datagrams handed to the device and the time it took. */
    public record Flood(long sent, long elapsedNanos) {
        public static Flood parse(byte[] output) {
            if (output.length != 16) {
                throw new IllegalArgumentException("udpflood result has " + output.length + " bytes, expected 16");
            }
            ByteBuffer b = ByteBuffer.wrap(output).order(ByteOrder.LITTLE_ENDIAN);
            return new Flood(b.getLong(), b.getLong());
        }

        public double packetsPerSecond() {
            return elapsedNanos == 0 ? 0 : sent * 1e9 / elapsedNanos;
        }

        /** Payload bits per second in Mbit/s, for datagrams of {@code payloadBytes}. */
        public double payloadMbitPerSecond(int payloadBytes) {
            return elapsedNanos == 0 ? 0 : sent * (double) payloadBytes * 8 * 1e3 / elapsedNanos;
        }
    }

    private static byte[] ip(byte[] ipv4) {
        if (ipv4 == null || ipv4.length != 4) {
            throw new IllegalArgumentException("an IPv4 address has 4 bytes");
        }
        return ipv4;
    }

    private static ByteBuffer le(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }
}
