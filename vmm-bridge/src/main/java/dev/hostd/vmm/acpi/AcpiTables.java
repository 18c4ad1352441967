package dev.hostd.vmm.acpi;

import dev.hostd.vmm.VmmException;
import dev.hostd.vmm.loader.GuestLayout;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Builds the ACPI tables a stock x86-64 Linux guest needs to find its CPUs, interrupt controllers
 * and devices on a hardware-reduced machine: RSDP → XSDT → {FADT → DSDT, MADT}. The tables are
 * laid out back to back from {@code baseGpa}, each 16-byte aligned, RSDP first. See docs/design.md
 * "ACPI tables" and the memory map in docs/guest-abi.md for where they go.
 */
public final class AcpiTables {
    /**
     * Default base: the BIOS read-only area that Linux scans for "RSD PTR " on 16-byte boundaries
     * when no boot parameter names the RSDP. The range must be reserved in the guest's e820 map.
     */
    public static final long BIOS_AREA = 0xE_0000L;
    public static final long BIOS_AREA_END = 0x10_0000L;
    static final int ALIGN = 16;
    /** The hardware-reduced sleep control and status registers (FADT), one byte each; the VMM's device answers there. */
    public static final int SLEEP_CONTROL_PORT = 0x600, SLEEP_STATUS_PORT = 0x601;
    /** SLP_TYP of S5 (soft off), as the DSDT's {@code \_S5} gives it. */
    public static final int S5_SLEEP_TYPE = 5;
    /** The IOAPIC has 24 inputs. */
    static final int IOAPIC_PINS = 24;

    private static final String OPERATION = "build ACPI tables";

    private AcpiTables() {}

    /** The tables for {@code vcpus} vCPUs and the given virtio-mmio devices, placed from {@code baseGpa}. */
    public static AcpiLayout build(int vcpus, List<MmioSlot> devices, long baseGpa) {
        check(vcpus, devices, baseGpa);
        long xsdtAt = align(baseGpa + Rsdp.SIZE);
        long fadtAt = align(xsdtAt + Xsdt.size(2));
        long madtAt = align(fadtAt + Fadt.SIZE);
        byte[] madt = Madt.build(vcpus);
        long dsdtAt = align(madtAt + madt.length);
        byte[] dsdt = Dsdt.build(devices);
        AcpiLayout layout = new AcpiLayout(List.of(
                new AcpiLayout.Table("RSD PTR ", baseGpa, Rsdp.build(xsdtAt)),
                new AcpiLayout.Table("XSDT", xsdtAt, Xsdt.build(List.of(fadtAt, madtAt))),
                new AcpiLayout.Table("FACP", fadtAt, Fadt.build(dsdtAt)),
                new AcpiLayout.Table("APIC", madtAt, madt),
                new AcpiLayout.Table("DSDT", dsdtAt, dsdt)));
        if (baseGpa < BIOS_AREA_END && layout.end() > BIOS_AREA_END) {
            throw invalid(String.format("ACPI tables from 0x%X end at 0x%X, past the BIOS area end 0x%X",
                    baseGpa, layout.end(), BIOS_AREA_END));
        }
        if (layout.end() > 1L << 32) {
            throw invalid(String.format("ACPI tables from 0x%X end at 0x%X, above 4 GiB", baseGpa, layout.end()));
        }
        return layout;
    }

    private static void check(int vcpus, List<MmioSlot> devices, long baseGpa) {
        if (vcpus < 1 || vcpus > Madt.MAX_VCPUS) {
            throw invalid("vCPU count " + vcpus + " is outside 1.." + Madt.MAX_VCPUS);
        }
        if (baseGpa < 0 || baseGpa % ALIGN != 0) {
            throw invalid(String.format("ACPI base 0x%X must be a non-negative multiple of %d", baseGpa, ALIGN));
        }
        if (devices.size() > GuestLayout.MAX_VIRTIO_DEVICES) {
            throw invalid(devices.size() + " virtio-mmio devices, at most " + GuestLayout.MAX_VIRTIO_DEVICES);
        }
        Set<Integer> irqs = new HashSet<>();
        for (int i = 0; i < devices.size(); i++) {
            MmioSlot d = devices.get(i);
            if (d.size() <= 0 || d.base() < 0 || d.base() + d.size() > 1L << 32) {
                throw invalid(String.format("virtio-mmio device %d window 0x%X+0x%X is not within 4 GiB", i, d.base(), d.size()));
            }
            if (d.irq() < 0 || d.irq() >= IOAPIC_PINS || d.irq() == Dsdt.COM1_IRQ || d.irq() == 0 || d.irq() == 2) {
                throw invalid("virtio-mmio device " + i + " IRQ " + d.irq()
                        + " must be an IOAPIC input 1.." + (IOAPIC_PINS - 1) + " other than 2 (PIT) and 4 (COM1)");
            }
            if (!irqs.add(d.irq())) {
                throw invalid("virtio-mmio device " + i + " IRQ " + d.irq() + " is used by another device");
            }
            for (int j = 0; j < i; j++) {
                MmioSlot o = devices.get(j);
                if (d.base() < o.base() + o.size() && o.base() < d.base() + d.size()) {
                    throw invalid(String.format("virtio-mmio devices %d and %d overlap at 0x%X", j, i, d.base()));
                }
            }
        }
    }

    private static long align(long v) {
        return (v + ALIGN - 1) & -ALIGN;
    }

    private static VmmException invalid(String message) {
        return new VmmException(VmmException.Kind.INVALID_INPUT, OPERATION, message);
    }
}
