package dev.hostd.vmm.device.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The two devices a guest stops the machine with, without a VM: what triggers them and what does not. */
class PlatformDevicesTest {
    @Test
    void theI8042SaysItsBuffersAreEmptyAndResetsOnlyOnCommandFe() {
        AtomicInteger resets = new AtomicInteger();
        I8042 kbc = new I8042(resets::incrementAndGet);
        assertEquals(0, kbc.read(I8042.STATUS_COMMAND, 1) & 0x3, "output and input buffers empty (kb_wait passes)");
        kbc.write(I8042.DATA, 1, 0xFE);
        kbc.write(I8042.STATUS_COMMAND, 1, 0xAD); // disable keyboard: ignored
        kbc.write(I8042.STATUS_COMMAND, 1, 0xD1); // write output port: ignored
        assertEquals(0, resets.get(), "0xFE on the data port or another command is no reset");
        kbc.write(I8042.STATUS_COMMAND, 1, I8042.CMD_RESET);
        assertEquals(1, resets.get());
        assertEquals(0xFF, kbc.read(1, 1), "0x61-0x63 are not the controller's: as if nothing answered");
    }

    @Test
    void onlySlpTypFiveWithSlpEnPowersOff() {
        AtomicInteger offs = new AtomicInteger();
        AcpiSleepRegisters sleep = new AcpiSleepRegisters(offs::incrementAndGet);
        int s5 = AcpiSleepRegisters.S5_SLEEP_TYPE << AcpiSleepRegisters.SLP_TYP_SHIFT;
        sleep.write(AcpiSleepRegisters.CONTROL, 1, s5); // no SLP_EN
        sleep.write(AcpiSleepRegisters.CONTROL, 1, (3 << AcpiSleepRegisters.SLP_TYP_SHIFT) | AcpiSleepRegisters.SLP_EN); // S3
        sleep.write(AcpiSleepRegisters.STATUS, 1, s5 | AcpiSleepRegisters.SLP_EN); // the status register
        assertEquals(0, offs.get());
        assertEquals(0, sleep.read(AcpiSleepRegisters.STATUS, 1), "WAK_STS clear");
        sleep.write(AcpiSleepRegisters.CONTROL, 1, s5 | AcpiSleepRegisters.SLP_EN);
        assertEquals(1, offs.get());
        assertEquals(0x34, s5 | AcpiSleepRegisters.SLP_EN, "the byte Linux's acpi_hw_extended_sleep writes for S5");
    }
}
