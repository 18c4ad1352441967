package dev.hostd.vmm.device.vsock;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The 44-byte {@code struct virtio_vsock_hdr} (virtio 1.2 §5.10.6). Ports and counters are u32
 * on the wire and kept here as their raw 32-bit patterns.
 */
record VsockHeader(long srcCid, long dstCid, int srcPort, int dstPort, int len, int type, int op, int flags,
                   int bufAlloc, int fwdCnt) {
    static final int SIZE = 44;

    static final int TYPE_STREAM = 1;

    static final int OP_REQUEST = 1;
    static final int OP_RESPONSE = 2;
    static final int OP_RST = 3;
    static final int OP_SHUTDOWN = 4;
    static final int OP_RW = 5;
    static final int OP_CREDIT_UPDATE = 6;
    static final int OP_CREDIT_REQUEST = 7;

    /** SHUTDOWN flags: the sender will receive / send no more data. */
    static final int SHUTDOWN_RCV = 1;
    static final int SHUTDOWN_SEND = 2;

    static VsockHeader decode(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes, 0, SIZE).order(ByteOrder.LITTLE_ENDIAN);
        return new VsockHeader(b.getLong(0), b.getLong(8), b.getInt(16), b.getInt(20), b.getInt(24),
                Short.toUnsignedInt(b.getShort(28)), Short.toUnsignedInt(b.getShort(30)), b.getInt(32),
                b.getInt(36), b.getInt(40));
    }

    byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(srcCid).putLong(dstCid).putInt(srcPort).putInt(dstPort).putInt(len)
                .putShort((short) type).putShort((short) op).putInt(flags).putInt(bufAlloc).putInt(fwdCnt);
        return b.array();
    }

    /** A reset answering this packet: addresses swapped, no payload, no credit. */
    VsockHeader resetReply() {
        return new VsockHeader(dstCid, srcCid, dstPort, srcPort, 0, TYPE_STREAM, OP_RST, 0, 0, 0);
    }

    static String opName(int op) {
        return switch (op) {
            case OP_REQUEST -> "REQUEST";
            case OP_RESPONSE -> "RESPONSE";
            case OP_RST -> "RST";
            case OP_SHUTDOWN -> "SHUTDOWN";
            case OP_RW -> "RW";
            case OP_CREDIT_UPDATE -> "CREDIT_UPDATE";
            case OP_CREDIT_REQUEST -> "CREDIT_REQUEST";
            default -> "op " + op;
        };
    }
}
