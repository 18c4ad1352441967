package dev.hostd.vmm.device.virtio;

/** One buffer of a descriptor chain, already checked to lie inside guest RAM. */
public record Descriptor(int index, long address, int length, boolean writable) {}
