package dev.hostd.vmm.memory;

/** A guest-supplied address range that does not lie inside guest RAM. */
public final class GuestMemoryException extends RuntimeException {
    public GuestMemoryException(long gpa, long length, long ramSize) {
        super(String.format("guest address range [%#x, +%#x) is outside guest RAM (%#x bytes)", gpa, length, ramSize));
    }
}
