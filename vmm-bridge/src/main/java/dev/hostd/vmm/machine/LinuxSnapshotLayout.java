package dev.hostd.vmm.machine;

import dev.hostd.vmm.acpi.AcpiTables;
import dev.hostd.vmm.acpi.MmioSlot;
import dev.hostd.vmm.loader.GuestLayout;
import dev.hostd.vmm.loader.linux.E820Map;
import dev.hostd.vmm.loader.linux.LinuxLayout;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The boot facts of a Linux guest that its RAM does not say to the VMM, kept in a snapshot's
 * metadata ({@code linux.*} keys, docs/snapshot-format.md): where the identity page is, what the
 * kernel was given, and the virtio-mmio devices the DSDT lists, which a restored VM must have in
 * the same slots. The e820 map and ACPI tables follow from memory size, vCPUs and devices, so
 * they are rebuilt, not stored.
 */
final class LinuxSnapshotLayout {
    static final String CMDLINE = "linux.cmdline", ENTRY = "linux.entry", KERNEL_END = "linux.kernel-end",
            IDENTITY_PAGE = "linux.identity-page", INITRD_ADDRESS = "linux.initrd-address", INITRD_SIZE = "linux.initrd-size",
            MMIO_DEVICES = "linux.mmio-devices";

    private LinuxSnapshotLayout() {}

    static Map<String, String> metadata(LinuxBootLayout layout, List<MmioSlot> slots) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(CMDLINE, layout.cmdline());
        m.put(ENTRY, hex(layout.entry()));
        m.put(KERNEL_END, hex(layout.kernelEnd()));
        m.put(IDENTITY_PAGE, hex(layout.identityPage()));
        m.put(INITRD_ADDRESS, hex(layout.initrdAddress()));
        m.put(INITRD_SIZE, Long.toString(layout.initrdSize()));
        m.put(MMIO_DEVICES, devices(slots));
        return m;
    }

    /** "base/size/gsi" per device, comma-separated: what the DSDT told the guest. */
    static String devices(List<MmioSlot> slots) {
        return slots.stream().map(s -> hex(s.base()) + "/" + hex(s.size()) + "/" + s.irq()).collect(Collectors.joining(","));
    }

    /**
     * The layout of a guest saved with {@link #metadata}, for a VM with {@code slots}; a missing or
     * malformed key, other devices, or an identity page outside RAM is an IllegalArgumentException naming it.
     */
    static LinuxBootLayout parse(Map<String, String> m, long memoryBytes, int vcpus, List<MmioSlot> slots) {
        String devices = require(m, MMIO_DEVICES);
        if (!devices.equals(devices(slots))) {
            throw new IllegalArgumentException("the snapshot's guest was told of virtio-mmio devices " + devices
                    + " (base/size/GSI), this VMM gives a Linux guest " + devices(slots));
        }
        long identityPage = number(m, IDENTITY_PAGE);
        if (identityPage % 4096 != 0 || identityPage < 0 || identityPage > memoryBytes - 4096) {
            throw new IllegalArgumentException(IDENTITY_PAGE + " " + hex(identityPage) + " is not a page inside the "
                    + memoryBytes + " bytes of RAM");
        }
        E820Map e820 = E820Map.forGuest(memoryBytes, GuestLayout.MMIO_BASE, LinuxLayout.LOW_RAM_END);
        return new LinuxBootLayout(e820, AcpiTables.build(vcpus, slots, LinuxLayout.ACPI), number(m, ENTRY),
                number(m, KERNEL_END), require(m, CMDLINE), identityPage, number(m, INITRD_ADDRESS), number(m, INITRD_SIZE));
    }

    private static String require(Map<String, String> m, String key) {
        String v = m.get(key);
        if (v == null) {
            throw new IllegalArgumentException("metadata has no " + key + " (not saved by LinuxVm.snapshot?)");
        }
        return v;
    }

    private static long number(Map<String, String> m, String key) {
        String v = require(m, key);
        try {
            return v.startsWith("0x") ? Long.parseUnsignedLong(v.substring(2), 16) : Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("metadata " + key + " is \"" + v + "\", not a number");
        }
    }

    private static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }
}
