package dev.hostd.vmm.device.platform;

import dev.hostd.vmm.acpi.AcpiTables;
import dev.hostd.vmm.device.PioDevice;

/**
 * The sleep control and status registers of a hardware-reduced ACPI platform (ACPI 6.5 §4.8.3.7),
 * one byte each at consecutive ports, which the FADT's SLEEP_CONTROL_REG and SLEEP_STATUS_REG
 * name. Writing SLP_EN with SLP_TYP = {@link #S5_SLEEP_TYPE} (the value of the DSDT's {@code \_S5})
 * to the control register powers the machine off; other sleep types are not offered and are
 * ignored. The status register reads 0 (WAK_STS clear: no wake ever happened).
 */
public final class AcpiSleepRegisters implements PioDevice {
    public static final int PORT_COUNT = 2;
    static final int CONTROL = 0, STATUS = 1;
    /** SLP_TYPx in bits 2-4 of the control register, SLP_EN bit 5. */
    public static final int SLP_TYP_SHIFT = 2, SLP_TYP_MASK = 0x7 << SLP_TYP_SHIFT, SLP_EN = 1 << 5;
    /** The SLP_TYP of S5 (soft off) on this platform; the DSDT's {@code \_S5} package says 5. */
    public static final int S5_SLEEP_TYPE = AcpiTables.S5_SLEEP_TYPE;

    private final Runnable onPowerOff;

    /** @param onPowerOff runs on the vCPU thread that wrote SLP_TYP 5 with SLP_EN */
    public AcpiSleepRegisters(Runnable onPowerOff) {
        this.onPowerOff = onPowerOff;
    }

    @Override
    public int read(int offset, int size) {
        return 0;
    }

    @Override
    public void write(int offset, int size, int value) {
        if (offset == CONTROL && (value & SLP_EN) != 0 && (value & SLP_TYP_MASK) >>> SLP_TYP_SHIFT == S5_SLEEP_TYPE) {
            onPowerOff.run();
        }
    }
}
