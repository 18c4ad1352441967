package dev.hostd.vmm.machine;

import dev.hostd.vmm.VmmException;
import dev.hostd.vmm.device.net.NetAttachment;
import dev.hostd.vmm.identity.Identity;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What a Linux guest boots with besides its kernel.
 *
 * @param cmdline   the caller's command line; the VMM appends {@code hostd.identity=0x...}
 * @param memoryMiB guest RAM
 * @param vcpus     vCPUs (1 for now)
 * @param initramfs the initramfs (an uncompressed or compressed cpio), null for none
 * @param identity  the identity written to the identity page at generation 1, null to leave the page empty
 * @param network   the TAP (and MAC) of a virtio-net in slot 1, null for no network; the VM owns the TAP
 *                  from the boot call on and closes it, also if the boot fails
 */
public record LinuxBootConfig(String cmdline, int memoryMiB, int vcpus, byte[] initramfs, Identity identity,
                              NetAttachment network) {
    public static LinuxBootConfig of(String cmdline, int memoryMiB, int vcpus) {
        return new LinuxBootConfig(cmdline, memoryMiB, vcpus, null, null, null);
    }

    public LinuxBootConfig withInitramfs(byte[] bytes) {
        return new LinuxBootConfig(cmdline, memoryMiB, vcpus, bytes, identity, network);
    }

    /** Reads the initramfs from {@code file}; a missing or unreadable file is INVALID_INPUT naming it. */
    public LinuxBootConfig withInitramfs(Path file) {
        try {
            long size = Files.size(file);
            if (size > Integer.MAX_VALUE - 8) { // a byte[]'s limit; also above any initrd_addr_max this VMM uses
                throw new VmmException(VmmException.Kind.INVALID_INPUT, "read initramfs " + file, size + " bytes is too big for an initramfs");
            }
            return withInitramfs(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new VmmException(VmmException.Kind.INVALID_INPUT, "read initramfs " + file, e.toString(), e);
        }
    }

    public LinuxBootConfig withIdentity(Identity id) {
        return new LinuxBootConfig(cmdline, memoryMiB, vcpus, initramfs, id, network);
    }

    /** A virtio-net on {@code tap}; its MAC is {@code attachment}'s, else the identity's, else a default. */
    public LinuxBootConfig withNetwork(NetAttachment attachment) {
        return new LinuxBootConfig(cmdline, memoryMiB, vcpus, initramfs, identity, attachment);
    }
}
