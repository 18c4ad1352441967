package dev.hostd.vmm.machine;

import dev.hostd.vmm.device.MmioDevice;
import java.util.ArrayList;
import java.util.List;

/** Guest-physical MMIO ranges to devices. */
final class MmioBus {
    private record Range(long base, long size, MmioDevice device) {}

    private final List<Range> ranges = new ArrayList<>();

    void register(long base, long size, MmioDevice device) {
        for (Range r : ranges) {
            if (base < r.base + r.size && r.base < base + size) {
                throw new IllegalArgumentException(String.format("MMIO range %#x+%#x overlaps %#x+%#x", base, size, r.base, r.size));
            }
        }
        ranges.add(new Range(base, size, device));
    }

    boolean write(long address, int size, long value) {
        Range r = find(address);
        if (r == null) {
            return false;
        }
        r.device.write(address - r.base, size, value);
        return true;
    }

    /** Unclaimed addresses read as all ones. */
    long read(long address, int size) {
        Range r = find(address);
        return r == null ? -1L : r.device.read(address - r.base, size);
    }

    private Range find(long address) {
        for (Range r : ranges) {
            if (address >= r.base && address - r.base < r.size) {
                return r;
            }
        }
        return null;
    }
}
