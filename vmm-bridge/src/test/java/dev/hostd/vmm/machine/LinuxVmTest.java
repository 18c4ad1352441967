package dev.hostd.vmm.machine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hostd.vmm.VmmException;
import dev.hostd.vmm.kvm.Kvm;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The PVH boot path on a real vCPU with a tiny guest in place of a kernel (a few instructions at
 * CPL 0, so fast even where they are emulated), and what LinuxVm refuses before it creates
 * anything. Debian's kernel itself is LinuxEarlyBootIT.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS) // a hang guard
class LinuxVmTest {
    static Kvm kvm;

    @TempDir
    Path dir;

    /**
     * 32-bit code entered through its PVH note: checks hvm_start_info's magic, writes 0x510 (the
     * test guest's wait port, just a port to a Linux guest), then prints to COM1 'P', the number of
     * memory map entries, 'A' if rsdp_paddr points at "RSD PTR ", and the command line.
     */
    private static final String PVH_GUEST = """
            .text
            .code32
            .globl _start
            _start:
            pvh_entry:
                cmpl $0x336ec578, (%ebx)
                jne fail
                mov $0x510, %dx
                mov $1, %eax
                out %eax, %dx
                mov $0x3f8, %dx
                mov $'P', %al
                out %al, %dx
                mov 48(%ebx), %eax
                add $'0', %al
                out %al, %dx
                mov 32(%ebx), %edi
                cmpl $0x20445352, (%edi)
                jne 1f
                cmpl $0x20525450, 4(%edi)
                jne 1f
                mov $'A', %al
                out %al, %dx
            1:  mov 24(%ebx), %esi
            2:  lodsb
                test %al, %al
                jz 3f
                out %al, %dx
                jmp 2b
            3:  mov $'\n', %al
                out %al, %dx
            4:  cli
                hlt
                jmp 4b
            fail:
                mov $0x3f8, %dx
                mov $'F', %al
                out %al, %dx
                jmp 4b
            .section .note.Xen,"a",@note
            .balign 4
            .long 4, 4, 18
            .asciz "Xen"
            .long pvh_entry
            """;

    @Test
    void aPvhGuestStartsWithStartInfoInEbxAndWritesToTheConsole() throws Exception {
        byte[] elf = build(PVH_GUEST);
        try (LinuxVm vm = LinuxVm.bootVmlinux("tiny", kvm, elf, "hello pvh", 64, 1)) {
            String expected = "P3Ahello pvh\n"; // 3 e820 entries for 64 MiB: low RAM, BIOS area, RAM from 1 MiB
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!vm.console().text().contains("\n") && System.nanoTime() < deadline && !vm.stopped().isDone()) {
                Thread.sleep(20);
            }
            assertEquals(expected, vm.console().text());
            assertEquals(3, vm.layout().e820().entries().size());
            assertEquals(0xE0000, vm.layout().acpi().rsdpAddress());
            assertTrue(!vm.stopped().isDone(), "port 0x510 did not park or fail the vCPU; it halts with interrupts off");
        }
    }

    @BeforeAll
    static void openKvm() {
        kvm = Kvm.open();
    }

    @AfterAll
    static void closeKvm() {
        kvm.close();
    }

    @Test
    void badShapesAreRefusedWithTheReason() {
        refused(new byte[4096], "console=ttyS0", 128, 2, "1 vCPU for now");
        refused(new byte[4096], "console=ttyS0", 32, 1, "64..3328 MiB");
        refused(new byte[4096], "console=ttyS0", 4096, 1, "RAM above the MMIO hole is not wired");
        refused(new byte[4096], "x".repeat(2048), 128, 1, "at most 2047");
        refused(new byte[4096], "caf\u00e9", 128, 1, "ASCII");
        refused(new byte[4096], "console=ttyS0", 128, 1, "not a Linux bzImage");
    }

    private byte[] build(String source) throws IOException, InterruptedException {
        Path src = dir.resolve("pvh.S");
        Files.writeString(src, source);
        Path out = dir.resolve("pvh.elf");
        Process p = new ProcessBuilder(List.of("gcc", "-nostdlib", "-static", "-no-pie", "-Wl,--build-id=none",
                "-o", out.toString(), src.toString())).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), "gcc failed:\n" + log);
        return Files.readAllBytes(out);
    }

    private static void refused(byte[] image, String cmdline, int mib, int vcpus, String reason) {
        VmmException e = assertThrows(VmmException.class, () -> LinuxVm.boot("bad", kvm, image, cmdline, mib, vcpus));
        assertEquals(VmmException.Kind.INVALID_INPUT, e.kind());
        assertTrue(e.getMessage().contains(reason), "expected '" + reason + "' in: " + e.getMessage());
    }
}
