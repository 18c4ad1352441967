package dev.hostd.vmm.loader;

import dev.hostd.vmm.memory.GuestMemory;
import java.util.List;

/** The boot-info page of docs/guest-abi.md: what a user-mode guest learns about its machine. */
public record BootInfo(long ramBytes, long tscKhz, long heapStart, List<Device> devices) {
    public static final int MAGIC = 0x544F4248; // "HBOT"
    public static final int VERSION = 1;
    private static final int DEVICES_OFFSET = 0x30, DEVICE_ENTRY = 16;

    /** A virtio-mmio device the guest should probe. */
    public record Device(long mmioBase, int mmioSize, int virtioDeviceId) {}

    public BootInfo {
        if (devices.size() > GuestLayout.MAX_VIRTIO_DEVICES) {
            throw new IllegalArgumentException("at most " + GuestLayout.MAX_VIRTIO_DEVICES + " virtio devices, got " + devices.size());
        }
        devices = List.copyOf(devices);
    }

    public void write(GuestMemory memory) {
        long at = GuestLayout.BOOT_INFO;
        memory.slice(at, 0x1000).fill((byte) 0);
        memory.writeU32(at, MAGIC);
        memory.writeU16(at + 4, VERSION);
        memory.writeU16(at + 6, DEVICES_OFFSET + DEVICE_ENTRY * GuestLayout.MAX_VIRTIO_DEVICES);
        memory.writeU64(at + 0x08, ramBytes);
        memory.writeU64(at + 0x10, GuestLayout.IDENTITY_PAGE);
        memory.writeU64(at + 0x18, tscKhz);
        memory.writeU64(at + 0x20, heapStart);
        memory.writeU32(at + 0x28, devices.size());
        for (int i = 0; i < devices.size(); i++) {
            long entry = at + DEVICES_OFFSET + (long) DEVICE_ENTRY * i;
            memory.writeU64(entry, devices.get(i).mmioBase());
            memory.writeU32(entry + 8, devices.get(i).mmioSize());
            memory.writeU32(entry + 12, devices.get(i).virtioDeviceId());
        }
    }
}
