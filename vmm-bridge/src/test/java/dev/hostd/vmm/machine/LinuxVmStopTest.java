package dev.hostd.vmm.machine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hostd.vmm.acpi.AcpiTables;
import dev.hostd.vmm.kvm.Kvm;
import dev.hostd.vmm.testing.SharedKvm;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * How a Linux guest stops itself, each with a tiny PVH guest on the real /dev/kvm and two vCPUs
 * (the second waits for a SIPI that never comes, and must stop too): the i8042 reset a reboot
 * uses, the ACPI S5 write a poweroff uses, and a triple fault. Each ends the VM with its reason,
 * and no vCPU thread is left.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS) // a hang guard
class LinuxVmStopTest {
    static final Kvm kvm = SharedKvm.get();

    @TempDir
    Path dir;


    @Test
    void resetThroughTheI8042IsAReboot() throws Exception {
        // as Linux's kb_wait() + outb(0xfe, 0x64): wait for "input buffer empty", then pulse reset
        String guest = """
                1:  in $0x64, %al
                    test $2, %al
                    jnz 1b
                    mov $0xfe, %al
                    out %al, $0x64
                    mov $0x3f8, %dx
                    mov $'!', %al
                    out %al, %dx
                """ + TinyPvhGuests.HALT;
        assertStopsWith(StopReason.REBOOT, guest, "");
    }

    @Test
    void slpTypFiveWithSlpEnIsAPowerOffAndOtherSleepTypesAreIgnored() throws Exception {
        String guest = String.format("""
                    mov $0x80, %%al
                    mov $%d, %%dx
                    out %%al, %%dx
                    mov $%d, %%dx
                    mov $((3 << 2) | 0x20), %%al
                    out %%al, %%dx
                    mov $(5 << 2), %%al
                    out %%al, %%dx
                    mov $0x3f8, %%dx
                    mov $'s', %%al
                    out %%al, %%dx
                    mov $%d, %%dx
                    mov $((5 << 2) | 0x20), %%al
                    out %%al, %%dx
                    mov $0x3f8, %%dx
                    mov $'!', %%al
                    out %%al, %%dx
                """, AcpiTables.SLEEP_STATUS_PORT, AcpiTables.SLEEP_CONTROL_PORT, AcpiTables.SLEEP_CONTROL_PORT)
                + TinyPvhGuests.HALT;
        // 's': S3 with SLP_EN, and S5 without SLP_EN, did not stop it; nothing after the S5 write ran
        assertStopsWith(StopReason.POWER_OFF, guest, "s");
    }

    @Test
    void aTripleFaultStopsTheVmWithThatReason() throws Exception {
        // an empty IDT: #UD cannot be delivered, nor the #DF that follows
        String guest = """
                    lidt idtr
                    ud2
                .balign 8
                idtr:
                    .word 0
                    .long 0
                """;
        assertStopsWith(StopReason.TRIPLE_FAULT, guest, "");
    }

    private void assertStopsWith(StopReason expected, String guest, String console) throws Exception {
        byte[] elf = TinyPvhGuests.build(dir, expected.name().toLowerCase(), guest);
        try (LinuxVm vm = LinuxVm.bootVmlinux("stop", kvm, elf, "", 64, 2)) {
            assertEquals(expected, vm.stopped().get(30, TimeUnit.SECONDS));
            assertArrayEquals(new int[0], vm.vcpuThreadIds(), "both vCPU threads left, the AP waiting for SIPI too");
            assertEquals(console, vm.console().text());
        }
    }

    @Test
    void closingAVmThatRunsIsClosed() throws Exception {
        byte[] elf = TinyPvhGuests.build(dir, "spin", "1: jmp 1b\n");
        LinuxVm vm = LinuxVm.bootVmlinux("spin", kvm, elf, "", 64, 2);
        try {
            assertEquals(2, vm.vcpuThreadIds().length, "a thread per vCPU: the BSP spinning, the AP in KVM_RUN waiting for SIPI");
            assertTrue(!vm.stopped().isDone());
        } finally {
            vm.close();
        }
        assertEquals(StopReason.CLOSED, vm.stopped().getNow(null));
        assertArrayEquals(new int[0], vm.vcpuThreadIds());
    }
}
