package dev.hostd.vmm.device.serial;

import java.nio.charset.StandardCharsets;

/**
 * The last {@code capacity} bytes a guest wrote to its console. Bounded so that a chatty guest
 * cannot grow the daemon's memory; older output is dropped and counted.
 */
public final class ConsoleLog {
    private final byte[] ring;
    private long written;

    public ConsoleLog(int capacity) {
        if (capacity <= 0) {
            throw new IllegalArgumentException("console log capacity must be positive: " + capacity);
        }
        this.ring = new byte[capacity];
    }

    public synchronized void append(byte b) {
        ring[(int) (written % ring.length)] = b;
        written++;
    }

    /** The bytes still kept, oldest first. */
    public synchronized byte[] snapshot() {
        int kept = (int) Math.min(written, ring.length);
        byte[] out = new byte[kept];
        int start = (int) ((written - kept) % ring.length);
        int first = Math.min(kept, ring.length - start);
        System.arraycopy(ring, start, out, 0, first);
        System.arraycopy(ring, 0, out, first, kept - first);
        return out;
    }

    /** The kept output as text (invalid UTF-8 replaced). */
    public String text() {
        return new String(snapshot(), StandardCharsets.UTF_8);
    }

    /** The last {@code lines} lines, for error messages. */
    public String tail(int lines) {
        String text = text();
        int end = text.length();
        int at = end;
        for (int i = 0; i <= lines && at > 0; i++) {
            at = text.lastIndexOf('\n', at - 1);
            if (at < 0) {
                at = 0;
                break;
            }
        }
        return text.substring(at == 0 ? 0 : at + 1, end).stripTrailing();
    }
}
