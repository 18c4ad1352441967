package dev.hostd.vmm.device.net;

/**
 * What a VM's virtio-net device is connected to: a TAP (null: disconnected, as when a template is
 * built) and the MAC for its config space (null: keep the one saved in the snapshot). The VM owns
 * the TAP from the moment it is handed one and closes it with the VM, also if creation fails.
 */
public record NetAttachment(Tap tap, byte[] mac) {
    public NetAttachment {
        if (mac != null) {
            String problem = VirtioNet.checkMac(mac);
            if (problem != null) {
                throw new IllegalArgumentException(problem);
            }
            mac = mac.clone();
        }
    }

    @Override
    public byte[] mac() {
        return mac == null ? null : mac.clone();
    }
}
