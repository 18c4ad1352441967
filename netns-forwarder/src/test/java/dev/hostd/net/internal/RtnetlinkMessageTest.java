package dev.hostd.net.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

class RtnetlinkMessageTest {
    @Test
    void setLinkEncodesHeaderIfinfomsgAndAlignedAttributes() {
        byte[] m = RtnetlinkMessage.setLink(7, "tap1", 5, 1450, true);
        ByteBuffer b = ByteBuffer.wrap(m).order(ByteOrder.nativeOrder());
        // nlmsghdr 16 + ifinfomsg 16 + IFNAME (4 + "tap1\0" = 9 -> 12) + MASTER 8 + MTU 8
        assertEquals(60, m.length);
        assertEquals(60, b.getInt(0));
        assertEquals(RtnetlinkMessage.RTM_NEWLINK, b.getShort(4));
        assertEquals(RtnetlinkMessage.NLM_F_REQUEST | RtnetlinkMessage.NLM_F_ACK, b.getShort(6));
        assertEquals(7, b.getInt(8));
        assertEquals(0, b.getInt(20), "ifi_index 0: the link is named");
        assertEquals(RtnetlinkMessage.IFF_UP, b.getInt(24), "ifi_flags");
        assertEquals(RtnetlinkMessage.IFF_UP, b.getInt(28), "ifi_change");
        assertEquals(9, b.getShort(32));
        assertEquals(RtnetlinkMessage.IFLA_IFNAME, b.getShort(34));
        assertEquals("tap1", new String(m, 36, 4));
        assertEquals(0, m[40]);
        assertEquals(8, b.getShort(44));
        assertEquals(RtnetlinkMessage.IFLA_MASTER, b.getShort(46));
        assertEquals(5, b.getInt(48));
        assertEquals(RtnetlinkMessage.IFLA_MTU, b.getShort(54));
        assertEquals(1450, b.getInt(56));
    }

    @Test
    void setLinkDownWithoutMasterOrMtuChangesOnlyTheUpFlag() {
        ByteBuffer b = ByteBuffer.wrap(RtnetlinkMessage.setLink(1, "t", 0, 0, false)).order(ByteOrder.nativeOrder());
        assertEquals(16 + 16 + 8, b.getInt(0));
        assertEquals(0, b.getInt(24));
        assertEquals(RtnetlinkMessage.IFF_UP, b.getInt(28));
    }

    @Test
    void ackErrorFindsTheAnswerToItsRequest() {
        ByteBuffer reply = ByteBuffer.allocate(72).order(ByteOrder.nativeOrder());
        error(reply, 0, 3, 0); // an ACK for seq 3
        error(reply, 36, 4, -17); // EEXIST for seq 4
        assertEquals(0, RtnetlinkMessage.ackError(reply.duplicate().order(ByteOrder.nativeOrder()), 3));
        assertEquals(17, RtnetlinkMessage.ackError(reply.duplicate().order(ByteOrder.nativeOrder()), 4));
        assertEquals(-1, RtnetlinkMessage.ackError(reply.duplicate().order(ByteOrder.nativeOrder()), 5));
    }

    @Test
    void ackErrorStopsAtATruncatedMessage() {
        ByteBuffer reply = ByteBuffer.allocate(20).order(ByteOrder.nativeOrder());
        reply.putInt(0, 400); // claims more than there is
        assertEquals(-1, RtnetlinkMessage.ackError(reply, 1));
    }

    private static void error(ByteBuffer b, int at, int seq, int error) {
        b.putInt(at, 36);
        b.putShort(at + 4, RtnetlinkMessage.NLMSG_ERROR);
        b.putInt(at + 8, seq);
        b.putInt(at + 16, error);
    }
}
