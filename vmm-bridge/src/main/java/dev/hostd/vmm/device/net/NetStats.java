package dev.hostd.vmm.device.net;

/**
 * Counters of one virtio-net device since it was made. {@code rxDropped}: frames read from the TAP
 * that did not fit the guest's buffer or were shorter than an Ethernet header; {@code txDropped}:
 * frames from the guest shorter than an Ethernet header or longer than {@link VirtioNet#MAX_FRAME},
 * sent while no TAP is attached, or refused by the TAP.
 */
public record NetStats(long rxFrames, long rxBytes, long rxDropped, long txFrames, long txBytes, long txDropped) {}
