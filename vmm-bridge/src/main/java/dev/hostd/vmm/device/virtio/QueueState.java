package dev.hostd.vmm.device.virtio;

/** The saved state of one split virtqueue: its configuration registers and its ring positions. */
public record QueueState(int maxSize, int size, boolean ready, long descTable, long availRing, long usedRing,
                         int nextAvail, int nextUsed) {}
