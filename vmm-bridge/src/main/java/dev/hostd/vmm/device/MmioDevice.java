package dev.hostd.vmm.device;

/**
 * A device mapped into the guest-physical MMIO space. The VMM calls it on the vCPU thread that
 * trapped the access, with the offset relative to the device's base address.
 */
public interface MmioDevice {
    /** Returns the value read; {@code size} is 1, 2, 4 or 8 bytes. */
    long read(long offset, int size);

    void write(long offset, int size, long value);
}
