package dev.hostd.vmm.agent;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** One frame of the agent protocol: a 16-byte header ({@code u32 length, u16 type, u16 flags, u64 request id}) and the payload. */
record AgentFrame(int type, int flags, long requestId, byte[] payload) {
    static final int HEADER_SIZE = 16;
    static final int MAX_PAYLOAD = 1 << 20;

    static final int HELLO = 1;
    static final int INVOKE = 2;
    static final int RESULT = 3;

    byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(HEADER_SIZE + payload.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(payload.length).putShort((short) type).putShort((short) flags).putLong(requestId).put(payload);
        return b.array();
    }

    static String typeName(int type) {
        return switch (type) {
            case HELLO -> "HELLO";
            case INVOKE -> "INVOKE";
            case RESULT -> "RESULT";
            default -> "type " + type;
        };
    }
}
