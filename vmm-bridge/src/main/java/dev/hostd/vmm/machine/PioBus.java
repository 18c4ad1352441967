package dev.hostd.vmm.machine;

import dev.hostd.vmm.device.PioDevice;
import java.util.ArrayList;
import java.util.List;

/** Port-I/O ranges to devices. Few devices, so a linear scan beats any map. */
final class PioBus {
    private record Range(int base, int count, PioDevice device) {}

    private final List<Range> ranges = new ArrayList<>();

    void register(int base, int count, PioDevice device) {
        for (Range r : ranges) {
            if (base < r.base + r.count && r.base < base + count) {
                throw new IllegalArgumentException(String.format("port range %#x+%d overlaps %#x+%d", base, count, r.base, r.count));
            }
        }
        ranges.add(new Range(base, count, device));
    }

    /** Returns false when no device claims the port. */
    boolean write(int port, int size, int value) {
        for (Range r : ranges) {
            if (port >= r.base && port < r.base + r.count) {
                r.device.write(port - r.base, size, value);
                return true;
            }
        }
        return false;
    }

    /** Returns the value read; all ones when no device claims the port, as on real hardware. */
    int read(int port, int size) {
        for (Range r : ranges) {
            if (port >= r.base && port < r.base + r.count) {
                return r.device.read(port - r.base, size);
            }
        }
        return size == 4 ? -1 : (1 << (8 * size)) - 1;
    }
}
