package dev.hostd.vmm.machine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.hostd.vmm.kvm.Kvm;
import dev.hostd.vmm.memory.GuestMemory;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Application processors on the real /dev/kvm, as a kernel starts them: a tiny PVH guest on the
 * BSP copies a real-mode trampoline to 0x8000, enables its local APIC, and sends INIT, then two
 * SIPIs with vector 0x08 through the xAPIC ICR to APIC ID 1, each step when the test opens a gate.
 * The AP switches to 32-bit protected mode and reports its local APIC's ID register, its CPUID
 * APIC ID and how often it ran the trampoline. Before the SIPI (after nothing, then after the INIT
 * alone) it has not run.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS) // a hang guard
class LinuxVmSmpTest {
    /** Where the guest reports, below the trampoline's page-aligned home at 0x8000 (SIPI vector 0x08). */
    static final long STEP = 0x9000, GATE = 0x9004, AP_LAPIC_ID = 0x9008, AP_CPUID_ID = 0x900C, AP_RUNS = 0x9010,
            BSP_LAPIC_ID = 0x9014, BSP_CPUID_ID = 0x9018;
    /** How long the test gives a wrongly started AP to show up: a window, not a time assertion. */
    static final long QUIET_MILLIS = 300;

    static final String GUEST = """
                mov $0x10000, %esp
                mov $ap_start, %esi
                mov $0x8000, %edi
                mov $(ap_end - ap_start), %ecx
                cld
                rep movsb
                mov 0xFEE00020, %eax        /* the BSP's own LAPIC ID register */
                shr $24, %eax
                mov %eax, 0x9014
                mov $1, %eax
                cpuid
                shr $24, %ebx
                mov %ebx, 0x9018
                orl $0x100, 0xFEE000F0      /* SVR: APIC software enable */
                movl $1, 0x9000             /* step 1: ready */
            1:  pause
                cmpl $1, 0x9004
                jb 1b
                movl $0x01000000, 0xFEE00310    /* ICR high: destination APIC ID 1 */
                movl $0x00004500, 0xFEE00300    /* ICR low: INIT, level assert, physical */
                movl $2, 0x9000             /* step 2: INIT sent */
            2:  pause
                cmpl $2, 0x9004
                jb 2b
                movl $0x01000000, 0xFEE00310
                movl $0x00004608, 0xFEE00300    /* start-up IPI, vector 0x08: CS base 0x8000 */
                movl $0x01000000, 0xFEE00310
                movl $0x00004608, 0xFEE00300    /* the second SIPI of the protocol; KVM drops it */
                movl $3, 0x9000             /* step 3: SIPIs sent */
            """ + TinyPvhGuests.HALT + """
            """ + TinyPvhGuests.AP_TRAMPOLINE_START + """
                incl 0x9010
                mov 0xFEE00020, %eax
                shr $24, %eax
                mov %eax, 0x9008
                mov $1, %eax
                cpuid
                shr $24, %ebx
                mov %ebx, 0x900C
            8:  cli
                hlt
                jmp 8b
            """ + TinyPvhGuests.AP_TRAMPOLINE_END;

    @TempDir
    Path dir;

    @Test
    void theApStartsAtTheSipiVectorOnlyAfterInitSipiAndReportsApicIdOne() throws Exception {
        byte[] elf = TinyPvhGuests.build(dir, "smp", GUEST);
        try (Kvm kvm = Kvm.open(); LinuxVm vm = LinuxVm.bootVmlinux("smp", kvm, elf, "", 64, 2)) {
            GuestMemory m = vm.memory();
            awaitStep(vm, 1);
            assertEquals(2, vm.vcpuThreadIds().length, "the AP's thread sits in KVM_RUN");
            assertEquals(0, m.readU32(BSP_LAPIC_ID), "the BSP's LAPIC ID");
            assertEquals(0, m.readU32(BSP_CPUID_ID), "the BSP's CPUID APIC ID");
            Thread.sleep(QUIET_MILLIS);
            assertEquals(0, m.readU32(AP_RUNS), "the AP has not run before any IPI");

            m.writeU32(GATE, 1);
            awaitStep(vm, 2);
            Thread.sleep(QUIET_MILLIS);
            assertEquals(0, m.readU32(AP_RUNS), "INIT alone does not start the AP");

            m.writeU32(GATE, 2);
            awaitStep(vm, 3);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60); // hang guard
            while (m.readU32(AP_CPUID_ID) == 0 && System.nanoTime() < deadline && !vm.stopped().isDone()) {
                Thread.sleep(10);
            }
            assertEquals(1, m.readU32(AP_LAPIC_ID), "the AP's LAPIC ID register says 1");
            assertEquals(1, m.readU32(AP_CPUID_ID), "the AP's CPUID.1:EBX[31:24] says 1");
            Thread.sleep(QUIET_MILLIS);
            assertEquals(1, m.readU32(AP_RUNS), "the AP ran the trampoline once: the second SIPI did not restart it");
            assertTrue(!vm.stopped().isDone(), "no vCPU failed");
        }
    }

    private static void awaitStep(LinuxVm vm, int step) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60); // hang guard
        while (vm.memory().readU32(STEP) < step) {
            if (vm.stopped().isDone()) {
                fail("the VM stopped at step " + vm.memory().readU32(STEP) + ": " + vm.stopped().handle((r, e) -> e != null ? e : r).get());
            }
            if (System.nanoTime() > deadline) {
                fail("hang guard: the BSP did not reach step " + step + "; console: " + vm.console().text());
            }
            Thread.sleep(10);
        }
    }
}
