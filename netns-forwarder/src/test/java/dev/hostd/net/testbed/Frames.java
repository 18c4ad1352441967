package dev.hostd.net.testbed;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Raw Ethernet frames a guest would send and receive: ARP, IPv4 with UDP or ICMP echo. Built and
 * parsed by hand so that a TAP fd can stand in for a guest in tests and benchmarks.
 */
public final class Frames {
    public static final int ETH_IP = 0x0800, ETH_ARP = 0x0806, PROTO_ICMP = 1, PROTO_UDP = 17;
    public static final byte[] BROADCAST = {-1, -1, -1, -1, -1, -1};

    private Frames() {}

    public static byte[] arpRequest(byte[] srcMac, int srcIp, int targetIp) {
        return arp(1, srcMac, srcIp, new byte[6], targetIp, BROADCAST);
    }

    public static byte[] arpReply(byte[] srcMac, int srcIp, byte[] dstMac, int dstIp) {
        return arp(2, srcMac, srcIp, dstMac, dstIp, dstMac);
    }

    private static byte[] arp(int op, byte[] senderMac, int senderIp, byte[] targetMac, int targetIp, byte[] ethDst) {
        ByteBuffer b = ByteBuffer.allocate(42);
        ethernet(b, ethDst, senderMac, ETH_ARP);
        b.putShort((short) 1).putShort((short) ETH_IP).put((byte) 6).put((byte) 4).putShort((short) op);
        b.put(senderMac).putInt(senderIp).put(targetMac).putInt(targetIp);
        return b.array();
    }

    public static byte[] udp(byte[] srcMac, byte[] dstMac, int srcIp, int dstIp, int srcPort, int dstPort, byte[] payload) {
        byte[] udp = new byte[8 + payload.length];
        ByteBuffer u = ByteBuffer.wrap(udp);
        u.putShort((short) srcPort).putShort((short) dstPort).putShort((short) udp.length).putShort((short) 0);
        u.put(payload);
        int sum = pseudoHeaderSum(srcIp, dstIp, PROTO_UDP, udp.length) + onesSum(udp);
        short check = fold(sum);
        u.putShort(6, check == 0 ? (short) 0xFFFF : check);
        return ipv4(srcMac, dstMac, srcIp, dstIp, PROTO_UDP, udp);
    }

    public static byte[] icmpEcho(byte[] srcMac, byte[] dstMac, int srcIp, int dstIp, int id, int seq, byte[] data) {
        byte[] icmp = new byte[8 + data.length];
        ByteBuffer c = ByteBuffer.wrap(icmp);
        c.put((byte) 8).put((byte) 0).putShort((short) 0).putShort((short) id).putShort((short) seq).put(data);
        c.putShort(2, fold(onesSum(icmp)));
        return ipv4(srcMac, dstMac, srcIp, dstIp, PROTO_ICMP, icmp);
    }

    static byte[] ipv4(byte[] srcMac, byte[] dstMac, int srcIp, int dstIp, int proto, byte[] l4) {
        ByteBuffer b = ByteBuffer.allocate(14 + 20 + l4.length);
        ethernet(b, dstMac, srcMac, ETH_IP);
        int ip = b.position();
        b.put((byte) 0x45).put((byte) 0).putShort((short) (20 + l4.length)).putShort((short) 0).putShort((short) 0x4000)
                .put((byte) 64).put((byte) proto).putShort((short) 0).putInt(srcIp).putInt(dstIp);
        b.putShort(ip + 10, fold(onesSum(Arrays.copyOfRange(b.array(), ip, ip + 20))));
        b.put(l4);
        return b.array();
    }

    private static void ethernet(ByteBuffer b, byte[] dst, byte[] src, int type) {
        b.put(dst).put(src).putShort((short) type);
    }

    private static int pseudoHeaderSum(int src, int dst, int proto, int length) {
        return (src >>> 16) + (src & 0xFFFF) + (dst >>> 16) + (dst & 0xFFFF) + proto + length;
    }

    private static int onesSum(byte[] data) {
        int sum = 0;
        for (int i = 0; i + 1 < data.length; i += 2) {
            sum += ((data[i] & 0xFF) << 8) | (data[i + 1] & 0xFF);
        }
        if ((data.length & 1) != 0) {
            sum += (data[data.length - 1] & 0xFF) << 8;
        }
        return sum;
    }

    private static short fold(int sum) {
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xFFFF) + (sum >>> 16);
        }
        return (short) ~sum;
    }

    /** A received frame, decoded as far as these tests need. */
    public record Parsed(byte[] dstMac, byte[] srcMac, int etherType, int arpOp, int srcIp, int dstIp, int proto,
                         int srcPort, int dstPort, int icmpType, byte[] payload) {
        public static Parsed of(byte[] f) {
            ByteBuffer b = ByteBuffer.wrap(f);
            byte[] dst = Arrays.copyOfRange(f, 0, 6), src = Arrays.copyOfRange(f, 6, 12);
            int type = b.getShort(12) & 0xFFFF;
            if (type == ETH_ARP && f.length >= 42) {
                return new Parsed(dst, src, type, b.getShort(20), b.getInt(28), b.getInt(38), 0, 0, 0, 0, Arrays.copyOfRange(f, 22, 28));
            }
            if (type == ETH_IP && f.length >= 34) {
                int ihl = (f[14] & 0x0F) * 4, total = b.getShort(16) & 0xFFFF, proto = f[23] & 0xFF, l4 = 14 + ihl;
                int end = Math.min(f.length, 14 + total);
                if (proto == PROTO_UDP) {
                    return new Parsed(dst, src, type, 0, b.getInt(26), b.getInt(30), proto, b.getShort(l4) & 0xFFFF, b.getShort(l4 + 2) & 0xFFFF, 0,
                            Arrays.copyOfRange(f, l4 + 8, end));
                }
                if (proto == PROTO_ICMP) {
                    return new Parsed(dst, src, type, 0, b.getInt(26), b.getInt(30), proto, 0, 0, f[l4] & 0xFF, Arrays.copyOfRange(f, l4 + 8, end));
                }
                return new Parsed(dst, src, type, 0, b.getInt(26), b.getInt(30), proto, 0, 0, 0, new byte[0]);
            }
            return new Parsed(dst, src, type, 0, 0, 0, 0, 0, 0, 0, new byte[0]);
        }
    }
}
