package dev.hostd.net.internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Encodes the few rtnetlink requests the forwarder sends ({@code <linux/netlink.h>},
 * {@code <linux/rtnetlink.h>}, {@code <linux/if_link.h>}): a link changed or deleted by name.
 * Pure bytes, so it is unit-tested without a kernel.
 */
public final class RtnetlinkMessage {
    public static final short RTM_NEWLINK = 16, RTM_DELLINK = 17;
    public static final short NLMSG_ERROR = 2, NLMSG_DONE = 3;
    public static final short NLM_F_REQUEST = 1, NLM_F_ACK = 4;
    static final short IFLA_IFNAME = 3, IFLA_MTU = 4, IFLA_MASTER = 10;
    public static final int IFF_UP = 1;
    static final int NLMSG_HDRLEN = 16, IFINFOMSG_LEN = 16;

    private RtnetlinkMessage() {}

    /**
     * RTM_NEWLINK without NLM_F_CREATE: changes the existing link {@code name} (looked up by name,
     * so no ifindex query is needed): bridge master, MTU and administrative state in one request.
     */
    public static byte[] setLink(int seq, String name, int masterIndex, int mtu, boolean up) {
        ByteBuffer b = start(RTM_NEWLINK, seq, 256);
        ifinfomsg(b, up ? IFF_UP : 0, IFF_UP);
        attrString(b, IFLA_IFNAME, name);
        if (masterIndex > 0) {
            attrInt(b, IFLA_MASTER, masterIndex);
        }
        if (mtu > 0) {
            attrInt(b, IFLA_MTU, mtu);
        }
        return finish(b);
    }

    /** RTM_DELLINK of the link {@code name}. */
    public static byte[] deleteLink(int seq, String name) {
        ByteBuffer b = start(RTM_DELLINK, seq, 64);
        ifinfomsg(b, 0, 0);
        attrString(b, IFLA_IFNAME, name);
        return finish(b);
    }

    /**
     * Reads the kernel's answer to request {@code seq}: 0 for an ACK, otherwise the positive errno.
     * Returns -1 if {@code reply} holds no answer to {@code seq}.
     */
    public static int ackError(ByteBuffer reply, int seq) {
        reply.order(ByteOrder.nativeOrder());
        while (reply.remaining() >= NLMSG_HDRLEN) {
            int start = reply.position();
            int len = reply.getInt(start);
            short type = reply.getShort(start + 4);
            int msgSeq = reply.getInt(start + 8);
            if (len < NLMSG_HDRLEN || len > reply.remaining()) {
                return -1;
            }
            if (type == NLMSG_ERROR && msgSeq == seq) {
                return -reply.getInt(start + NLMSG_HDRLEN);
            }
            reply.position(start + align(len));
        }
        return -1;
    }

    private static ByteBuffer start(short type, int seq, int capacity) {
        ByteBuffer b = ByteBuffer.allocate(capacity).order(ByteOrder.nativeOrder());
        b.putInt(0); // length, patched in finish
        b.putShort(type);
        b.putShort((short) (NLM_F_REQUEST | NLM_F_ACK));
        b.putInt(seq);
        b.putInt(0); // the kernel
        return b;
    }

    private static void ifinfomsg(ByteBuffer b, int flags, int change) {
        b.put((byte) 0); // AF_UNSPEC
        b.put((byte) 0);
        b.putShort((short) 0); // ifi_type
        b.putInt(0); // ifi_index: 0, the link is named by IFLA_IFNAME
        b.putInt(flags);
        b.putInt(change);
    }

    private static void attrString(ByteBuffer b, short type, String value) {
        byte[] bytes = value.getBytes(StandardCharsets.US_ASCII);
        int len = 4 + bytes.length + 1;
        b.putShort((short) len);
        b.putShort(type);
        b.put(bytes);
        b.put((byte) 0);
        pad(b);
    }

    private static void attrInt(ByteBuffer b, short type, int value) {
        b.putShort((short) 8);
        b.putShort(type);
        b.putInt(value);
    }

    private static void pad(ByteBuffer b) {
        while ((b.position() & 3) != 0) {
            b.put((byte) 0);
        }
    }

    private static byte[] finish(ByteBuffer b) {
        int len = b.position();
        b.putInt(0, len);
        byte[] out = new byte[len];
        b.get(0, out);
        return out;
    }

    static int align(int len) {
        return (len + 3) & ~3;
    }
}
