package dev.hostd.vmm.acpi;

import java.util.ArrayList;
import java.util.List;

/**
 * Differentiated System Description Table: the devices a hardware-reduced guest cannot discover
 * otherwise. Under {@code \_SB}: one {@code LNRO0005} (virtio-mmio, which Linux's virtio_mmio
 * driver matches over ACPI) per slot, named {@code VR00..}, and the 16550 console {@code COM1}
 * ({@code PNP0501}, ports 0x3F8-0x3FF, IRQ 4). At the root, {@code \_S5} with the SLP_TYP a
 * guest writes to the FADT's sleep control register to power off: without it Linux offers no
 * ACPI power-off.
 */
final class Dsdt {
    /** Revision 2: integers are 64 bits wide in the AML interpreter. */
    static final int REVISION = 2;
    static final int COM1_PORT = 0x3F8, COM1_PORTS = 8, COM1_IRQ = 4;

    private Dsdt() {}

    static byte[] build(List<MmioSlot> devices) {
        List<byte[]> terms = new ArrayList<>();
        for (int i = 0; i < devices.size(); i++) {
            MmioSlot d = devices.get(i);
            terms.add(Aml.device(String.format("VR%02d", i),
                    Aml.nameOf("_HID", Aml.string("LNRO0005")),
                    Aml.nameOf("_UID", Aml.integer(i)),
                    Aml.nameOf("_CRS", Resources.template(
                            Resources.memory32Fixed(d.base(), d.size()), Resources.interrupt(d.irq())))));
        }
        terms.add(Aml.device("COM1",
                Aml.nameOf("_HID", Aml.integer(Aml.eisaId("PNP0501"))),
                Aml.nameOf("_UID", Aml.integer(0)),
                Aml.nameOf("_CRS", Resources.template(
                        Resources.io(COM1_PORT, COM1_PORTS), Resources.interrupt(COM1_IRQ)))));
        byte[] s5 = Aml.nameOf("\\_S5_", Aml.packageOf(Aml.integer(AcpiTables.S5_SLEEP_TYPE), Aml.integer(0)));
        byte[] aml = Aml.concat(s5, Aml.scope("\\_SB_", terms.toArray(byte[][]::new)));
        return Sdt.table("DSDT", REVISION, aml);
    }
}
