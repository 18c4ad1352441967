package dev.hostd.vmm.device;

/** A device on the x86 port-I/O bus; called on the vCPU thread that trapped the access. */
public interface PioDevice {
    /** Returns the value read; {@code size} is 1, 2 or 4 bytes. {@code offset} is relative to the base port. */
    int read(int offset, int size);

    void write(int offset, int size, int value);
}
