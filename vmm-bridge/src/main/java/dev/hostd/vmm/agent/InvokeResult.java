package dev.hostd.vmm.agent;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/** The guest's answer to an INVOKE: a status and the output bytes. */
public record InvokeResult(int status, byte[] output) {
    public static final int OK = 0;
    public static final int UNKNOWN_FUNCTION = 1;
    public static final int BAD_ARGUMENT = 2;
    public static final int PAYLOAD_TOO_LARGE = 3;
    public static final int OUT_OF_MEMORY = 4;
    public static final int UNAVAILABLE = 5;

    public InvokeResult {
        output = output.clone();
    }

    @Override
    public byte[] output() {
        return output.clone();
    }

    public boolean ok() {
        return status == OK;
    }

    /** The ABI name of the status ("OK", "UNKNOWN_FUNCTION", ...), or "STATUS_n" for one this build does not know. */
    public String statusName() {
        return statusName(status);
    }

    public static String statusName(int status) {
        return switch (status) {
            case OK -> "OK";
            case UNKNOWN_FUNCTION -> "UNKNOWN_FUNCTION";
            case BAD_ARGUMENT -> "BAD_ARGUMENT";
            case PAYLOAD_TOO_LARGE -> "PAYLOAD_TOO_LARGE";
            case OUT_OF_MEMORY -> "OUT_OF_MEMORY";
            case UNAVAILABLE -> "UNAVAILABLE";
            default -> "STATUS_" + Integer.toUnsignedString(status);
        };
    }

    /** Parses a RESULT payload: {@code u32 status} then the output. */
    static InvokeResult parse(byte[] payload) {
        if (payload.length < 4) {
            throw new AgentProtocolException("RESULT payload of " + payload.length + " bytes has no 4-byte status");
        }
        int status = ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN).getInt(0);
        return new InvokeResult(status, Arrays.copyOfRange(payload, 4, payload.length));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof InvokeResult r && r.status == status && Arrays.equals(r.output, output);
    }

    @Override
    public int hashCode() {
        return 31 * status + Arrays.hashCode(output);
    }

    @Override
    public String toString() {
        return "InvokeResult[" + statusName() + ", " + output.length + " bytes]";
    }
}
