package dev.hostd.vmm.machine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hostd.vmm.VmmException;
import dev.hostd.vmm.identity.Identity;
import dev.hostd.vmm.identity.IdentityPage;
import dev.hostd.vmm.kvm.Kvm;
import dev.hostd.vmm.testing.SharedKvm;
import dev.hostd.vmm.loader.linux.TestImages;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link LinuxVm#bootBzImage64} on a real vCPU with a tiny bzImage whose startup_64 (offset 0x200
 * of its protected-mode kernel) is a few instructions of 64-bit code, so fast even where they are
 * emulated: it reads back what the 64-bit boot protocol promises it. Debian's kernel on this entry
 * is LinuxBzImageBootIT.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS) // a hang guard
class LinuxBzImageVmTest {
    static final Kvm kvm = SharedKvm.get();

    @TempDir
    Path dir;

    /**
     * Checks "HdrS" in the zero page at RSI (else prints 'F'), then prints 'L' and, as 8 hex digits
     * each: CS, DS, its own address (RIP-relative), RSI, e820_entries, ramdisk_image, ramdisk_size;
     * 'A' if acpi_rsdp_addr points at "RSD PTR "; then the command line at cmd_line_ptr | ext_cmd_line_ptr << 32.
     * Every access goes through the VMM's page tables (paging is on in long mode).
     */
    private static final String STARTUP_64 = """
                .text
                .code64
                .org 0x200
            startup_64:
                mov $0x80000, %rsp
                mov $0x3f8, %dx
                cmpl $0x53726448, 0x202(%rsi)
                jne fail
                mov $'L', %al
                out %al, %dx
                mov %cs, %eax
                call hex8
                mov %ds, %eax
                call hex8
                lea startup_64(%rip), %rax
                call hex8
                mov %rsi, %rax
                call hex8
                movzbl 0x1e8(%rsi), %eax
                call hex8
                mov 0x218(%rsi), %eax
                call hex8
                mov 0x21c(%rsi), %eax
                call hex8
                mov 0x070(%rsi), %rdi
                test %rdi, %rdi
                jz 1f
                movabs $0x2052545020445352, %rcx
                cmp (%rdi), %rcx
                jne 1f
                mov $'A', %al
                out %al, %dx
            1:  mov $' ', %al
                out %al, %dx
                mov 0x228(%rsi), %eax
                mov 0x0c8(%rsi), %ecx
                shl $32, %rcx
                or %rcx, %rax
                mov %rax, %rsi
            2:  lodsb
                test %al, %al
                jz 3f
                out %al, %dx
                jmp 2b
            3:  mov $'\\n', %al
                out %al, %dx
            4:  cli
                hlt
                jmp 4b
            fail:
                mov $'F', %al
                out %al, %dx
                jmp 4b
            /* ' ', then %eax as 8 lowercase hex digits, to port %dx; clobbers %eax, %ecx, %edi */
            hex8:
                mov %eax, %edi
                mov $' ', %al
                out %al, %dx
                mov $8, %ecx
            5:  rol $4, %edi
                mov %edi, %eax
                and $0xf, %eax
                cmp $10, %al
                jb 6f
                add $('a' - 10 - '0'), %al
            6:  add $'0', %al
                out %al, %dx
                dec %ecx
                jnz 5b
                ret
            """;


    @Test
    void startup64RunsInLongModeWithTheZeroPageInRsi() throws Exception {
        byte[] bzImage = TestImages.bzImage(assemble(STARTUP_64));
        byte[] initramfs = Arrays.copyOf("HRAM".getBytes(StandardCharsets.US_ASCII), 5000);
        Identity identity = new Identity(Identity.parseMac("02:00:00:00:00:08"), Identity.parseIpv4("198.18.0.8"), 24,
                Identity.parseIpv4("198.18.0.1"), "bz64", "sbx-2", "tenant-1");
        // two vCPUs: the BSP enters startup_64, the AP waits for a SIPI that never comes
        LinuxBootConfig config = LinuxBootConfig.of("hello bzimage", 64, 2).withInitramfs(initramfs).withIdentity(identity);
        try (LinuxVm vm = LinuxVm.bootBzImage64("tiny64", kvm, bzImage, config)) {
            String out = awaitLine(vm);
            LinuxBootLayout layout = vm.layout();
            assertEquals(0x100_0200, layout.entry(), "startup_64: pref_address (16 MiB) + 0x200");
            assertEquals(0x100_0000 + 0x10_0000, layout.kernelEnd(), "load address + init_size");
            assertTrue(layout.initrdAddress() >= layout.kernelEnd() && layout.initrdAddress() + 5000 <= 64L << 20, layout.toString());
            // CS __BOOT_CS, DS __BOOT_DS, RIP, RSI, 3 e820 entries (64 MiB), the initramfs, the RSDP, our command line
            assertEquals(String.format("L 00000010 00000018 01000200 00007000 00000003 %08x 00001388A hello bzimage hostd.identity=0x9f000\n",
                    layout.initrdAddress()), out);
            assertEquals('H', vm.memory().readU8(layout.initrdAddress()), "the initramfs is where ramdisk_image says");
            assertEquals(IdentityPage.MAGIC, vm.memory().readU32(0x9F000), "the identity page where hostd.identity= says");
            assertEquals(1, IdentityPage.generation(vm.memory(), 0x9F000));
            assertTrue(!vm.stopped().isDone(), "it halts with interrupts off; nothing failed");
        }
    }

    @Test
    void theKernelsOwnLimitsAreKept() throws Exception {
        byte[] kernel = assemble(STARTUP_64);
        // initrd_addr_max 32 MiB and no XLF_CAN_BE_LOADED_ABOVE_4G: the initramfs goes below it, not at the top of RAM
        byte[] lowInitrd = set(set(TestImages.bzImage(kernel), 0x22c, 0x1FF_FFFF, 4), 0x236, 1, 2);
        try (LinuxVm vm = LinuxVm.bootBzImage64("low-initrd", kvm, lowInitrd,
                LinuxBootConfig.of("", 64, 1).withInitramfs(new byte[5000]))) {
            awaitLine(vm);
            assertTrue(vm.layout().initrdAddress() + 5000 <= 0x200_0000, "below initrd_addr_max: " + vm.layout());
        }
        refused(set(TestImages.bzImage(kernel), 0x260, 0x400_0000, 4), LinuxBootConfig.of("", 64, 1),
                "pref_address 0x1000000 + init_size 0x4000000", "give the guest at least 80 MiB");
        refused(set(TestImages.bzImage(kernel), 0x238, 20, 4), LinuxBootConfig.of("x", 64, 1),
                "the command line is 24 bytes, the kernel takes at most 20 (cmdline_size)");
        refused(new byte[4096], LinuxBootConfig.of("", 64, 1), "not a Linux bzImage");
        refused(TestImages.bzImage(kernel), LinuxBootConfig.of("", 64, 33), "1..32 vCPUs");
    }

    private static void refused(byte[] image, LinuxBootConfig config, String... reasons) {
        VmmException e = assertThrows(VmmException.class, () -> LinuxVm.bootBzImage64("bad", kvm, image, config));
        assertEquals(VmmException.Kind.INVALID_INPUT, e.kind());
        for (String reason : reasons) {
            assertTrue(e.getMessage().contains(reason), "expected '" + reason + "' in: " + e.getMessage());
        }
    }

    private static String awaitLine(LinuxVm vm) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!vm.console().text().contains("\n") && System.nanoTime() < deadline && !vm.stopped().isDone()) {
            Thread.sleep(20);
        }
        return vm.console().text();
    }

    private static byte[] set(byte[] file, int offset, long value, int size) {
        ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        switch (size) {
            case 2 -> b.putShort(offset, (short) value);
            case 4 -> b.putInt(offset, (int) value);
            default -> throw new IllegalArgumentException("size " + size);
        }
        return file;
    }

    /** The protected-mode kernel: {@code source} assembled by gcc and flattened by objcopy (offset 0 = load address). */
    private byte[] assemble(String source) throws IOException, InterruptedException {
        Path src = dir.resolve("startup64.S"), obj = dir.resolve("startup64.o"), bin = dir.resolve("startup64.bin");
        Files.writeString(src, source);
        run(List.of("gcc", "-c", "-o", obj.toString(), src.toString()));
        run(List.of("objcopy", "-O", "binary", "-j", ".text", obj.toString(), bin.toString()));
        return Files.readAllBytes(bin);
    }

    private static void run(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), command + " failed:\n" + log);
    }
}
