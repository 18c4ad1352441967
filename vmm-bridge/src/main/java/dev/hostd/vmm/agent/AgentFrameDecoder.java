package dev.hostd.vmm.agent;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/** Reassembles frames from stream data split at arbitrary points. Not thread-safe. */
final class AgentFrameDecoder {
    private final byte[] header = new byte[AgentFrame.HEADER_SIZE];
    private int headerFill;
    private byte[] payload;
    private int payloadFill;
    private int type;
    private int flags;
    private long requestId;

    /** Consumes {@code data}; returns the frames it completed. Throws {@link AgentProtocolException} on an oversize frame. */
    List<AgentFrame> feed(byte[] data) {
        List<AgentFrame> frames = new ArrayList<>();
        int at = 0;
        while (at < data.length) {
            if (payload == null) {
                int n = Math.min(AgentFrame.HEADER_SIZE - headerFill, data.length - at);
                System.arraycopy(data, at, header, headerFill, n);
                headerFill += n;
                at += n;
                if (headerFill < AgentFrame.HEADER_SIZE) {
                    break;
                }
                ByteBuffer b = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);
                long length = Integer.toUnsignedLong(b.getInt(0));
                type = Short.toUnsignedInt(b.getShort(4));
                flags = Short.toUnsignedInt(b.getShort(6));
                requestId = b.getLong(8);
                if (length > AgentFrame.MAX_PAYLOAD) {
                    throw new AgentProtocolException("frame " + AgentFrame.typeName(type) + " payload length " + length
                            + " exceeds the 1 MiB limit");
                }
                payload = new byte[(int) length];
                payloadFill = 0;
                headerFill = 0;
            }
            int n = Math.min(payload.length - payloadFill, data.length - at);
            System.arraycopy(data, at, payload, payloadFill, n);
            payloadFill += n;
            at += n;
            if (payloadFill == payload.length) {
                frames.add(new AgentFrame(type, flags, requestId, payload));
                payload = null;
            }
        }
        return frames;
    }
}
