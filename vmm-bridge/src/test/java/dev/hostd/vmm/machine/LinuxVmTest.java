package dev.hostd.vmm.machine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hostd.vmm.VmmException;
import dev.hostd.vmm.device.vsock.FakeVsockGuest;
import dev.hostd.vmm.device.vsock.VsockStreamListener;
import dev.hostd.vmm.identity.Identity;
import dev.hostd.vmm.identity.IdentityPage;
import dev.hostd.vmm.kvm.Kvm;
import dev.hostd.vmm.testing.SharedKvm;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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
    static final Kvm kvm = SharedKvm.get();

    @TempDir
    Path dir;

    /** Entry of the tiny 32-bit PVH guests: checks the start_info magic (EBX), else prints 'F'. */
    private static final String PVH_START = """
            .text
            .code32
            .globl _start
            _start:
            pvh_entry:
                cmpl $0x336ec578, (%ebx)
                jne fail
            """;
    /** With ESI at the command line (start_info+24): prints it and a newline to COM1, then halts; {@code fail} prints 'F'. */
    private static final String PRINT_CMDLINE_AND_HALT = """
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
            """;
    /** The ELF note that names pvh_entry as the PVH entry point (XEN_ELFNOTE_PHYS32_ENTRY). */
    private static final String PVH_NOTE = """
            .section .note.Xen,"a",@note
            .balign 4
            .long 4, 4, 18
            .asciz "Xen"
            .long pvh_entry
            """;

    /**
     * 32-bit code entered through its PVH note: checks hvm_start_info's magic, writes 0x510 (the
     * test guest's wait port, just a port to a Linux guest), then prints to COM1 'P', the number of
     * memory map entries, 'A' if rsdp_paddr points at "RSD PTR ", and the command line.
     */
    private static final String PVH_GUEST = PVH_START + """
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
            """ + PRINT_CMDLINE_AND_HALT + """
            """ + PVH_NOTE;

    @Test
    void aPvhGuestStartsWithStartInfoInEbxAndWritesToTheConsole() throws Exception {
        byte[] elf = build(PVH_GUEST);
        try (LinuxVm vm = LinuxVm.bootVmlinux("tiny", kvm, elf, "hello pvh", 64, 1)) {
            // 3 e820 entries for 64 MiB: low RAM, identity page + BIOS area, RAM from 1 MiB; the VMM's parameter appended
            String expected = "P3Ahello pvh hostd.identity=0x9f000\n";
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

    /**
     * 32-bit PVH code that reads the virtio-mmio registers in slot 0 (0xD0000000), as Linux's
     * virtio_mmio driver would after reading the DSDT, and prints the magic value as 4 characters
     * and the device id as 2 decimal digits, then the command line.
     */
    private static final String VIRTIO_PROBE_GUEST = PVH_START + """
                mov $0x10000, %esp
                mov $0x3f8, %dx
                mov 0xd0000000, %eax
                mov $4, %ecx
            1:  out %al, %dx
                shr $8, %eax
                dec %ecx
                jnz 1b
                mov $' ', %al
                out %al, %dx
                mov 0xd0000008, %eax
                mov $10, %cl
                div %cl
                add $'0', %al
                out %al, %dx
                mov %ah, %al
                add $'0', %al
                out %al, %dx
                mov $' ', %al
                out %al, %dx
                mov 24(%ebx), %esi
            """ + PRINT_CMDLINE_AND_HALT + """
            """ + PVH_NOTE;

    @Test
    void theGuestFindsTheVsockInSlot0WhereTheDsdtSays() throws Exception {
        byte[] elf = build(VIRTIO_PROBE_GUEST);
        try (LinuxVm vm = LinuxVm.bootVmlinux("probe", kvm, elf, "x", 64, 1)) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!vm.console().text().contains("\n") && System.nanoTime() < deadline && !vm.stopped().isDone()) {
                Thread.sleep(20);
            }
            assertEquals("virt 19 x hostd.identity=0x9f000\n", vm.console().text(), "magic and device id read by the vCPU");
            String dsdt = new String(vm.layout().acpi().table("DSDT").bytes(), StandardCharsets.ISO_8859_1);
            assertTrue(dsdt.contains("LNRO0005") && dsdt.contains("VR00"), "slot 0 is a virtio-mmio device in the DSDT");
            assertTrue(!vm.agent().connected(), "the agent channel exists, nobody connected");
        }
    }

    /** Where the notify guest waits for the host's go (free low RAM between the module list and the command line). */
    private static final long GO_FLAG = 0x7000;

    /**
     * 32-bit PVH code that waits until the host sets {@link #GO_FLAG}, then notifies virtio queue 1
     * (tx) of slot 0 by writing 1 to its QueueNotify register, as Linux's virtio_mmio driver does,
     * and prints 'N' and the command line.
     */
    private static final String NOTIFY_GUEST = PVH_START + """
                mov $0x10000, %esp
            1:  pause
                cmpl $0, 0x7000
                je 1b
                movl $1, 0xd0000050
                mov $0x3f8, %dx
                mov $'N', %al
                out %al, %dx
                mov 24(%ebx), %esi
            """ + PRINT_CMDLINE_AND_HALT + """
            """ + PVH_NOTE;

    @Test
    void aVcpusQueueNotifyIsTakenByTheVsock() throws Exception {
        byte[] elf = build(NOTIFY_GUEST);
        try (LinuxVm vm = LinuxVm.bootVmlinux("notify", kvm, elf, "x", 64, 1)) {
            LinuxDevices devices = vm.devices();
            CompletableFuture<Long> connected = new CompletableFuture<>();
            devices.vsock().listen(5000, c -> {
                connected.complete(c.guestPort());
                return new VsockStreamListener() {
                    @Override public void onData(byte[] bytes) {}
                    @Override public void onClosed(String reason) {}
                };
            });
            // The driver's set-up and a REQUEST on tx, written as the guest would, but no notify: the vCPU does
            // that, into the ioeventfd LinuxDevicesTest shows KVM holds at that address, for the service thread.
            FakeVsockGuest guest = FakeVsockGuest.over(devices.vsock(),
                    LinuxDevicesTest.registersAt(vm.mmio(), devices.slots().getFirst().base()), vm.memory(), 0x200000);
            guest.enqueue(FakeVsockGuest.REQUEST, 40000, 5000);
            vm.memory().writeU32(GO_FLAG, 1);
            assertEquals(40000L, connected.get(30, TimeUnit.SECONDS), "the REQUEST was taken off tx after the vCPU's notify");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!vm.console().text().contains("\n") && System.nanoTime() < deadline && !vm.stopped().isDone()) {
                Thread.sleep(20);
            }
            assertEquals("Nx hostd.identity=0x9f000\n", vm.console().text(), "the guest went on past its notify");
        }
    }

    /**
     * 32-bit PVH code that prints what hvm_start_info says about modules and memory: 'M', nr_modules,
     * then for the first module " <paddr>+<size> " (8 hex digits each) and its first 4 bytes, then
     * each memory map entry as " <addr>+<size>:<type>", then " " and the command line.
     */
    private static final String MODULE_GUEST = PVH_START + """
                mov $0x10000, %esp
                mov $0x3f8, %dx
                mov $'M', %al
                out %al, %dx
                mov 12(%ebx), %eax
                add $'0', %al
                out %al, %dx
                cmpl $0, 12(%ebx)
                je 1f
                mov 16(%ebx), %esi
                mov $' ', %al
                out %al, %dx
                mov (%esi), %eax
                call hex8
                mov $'+', %al
                out %al, %dx
                mov 8(%esi), %eax
                call hex8
                mov $' ', %al
                out %al, %dx
                mov (%esi), %ebp
                mov $4, %ecx
            7:  mov (%ebp), %al
                out %al, %dx
                inc %ebp
                dec %ecx
                jnz 7b
            1:  mov 40(%ebx), %esi
                mov 48(%ebx), %ebp
            8:  mov $' ', %al
                out %al, %dx
                mov (%esi), %eax
                call hex8
                mov $'+', %al
                out %al, %dx
                mov 8(%esi), %eax
                call hex8
                mov $':', %al
                out %al, %dx
                mov 16(%esi), %eax
                add $'0', %al
                out %al, %dx
                add $24, %esi
                dec %ebp
                jnz 8b
                mov $' ', %al
                out %al, %dx
                mov 24(%ebx), %esi
            """ + PRINT_CMDLINE_AND_HALT + """
            /* %eax as 8 lowercase hex digits to port %dx; clobbers %eax, %ecx, %edi */
            hex8:
                mov %eax, %edi
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
            """ + PVH_NOTE;

    private static final Pattern ENTRY = Pattern.compile(" ([0-9a-f]{8})\\+([0-9a-f]{8}):(\\d)");

    @Test
    void theInitramfsIsTheFirstModuleAndTheIdentityPageIsReservedWhereTheCommandLineSays() throws Exception {
        byte[] elf = build(MODULE_GUEST);
        byte[] initramfs = "HRAM, then 5000 bytes".getBytes(StandardCharsets.US_ASCII);
        initramfs = Arrays.copyOf(initramfs, 5000);
        Identity identity = new Identity(Identity.parseMac("02:00:00:00:00:07"), Identity.parseIpv4("198.18.0.7"), 24,
                Identity.parseIpv4("198.18.0.1"), "linux-test", "sbx-1", "tenant-1");
        LinuxBootConfig config = LinuxBootConfig.of("modules", 64, 1).withInitramfs(initramfs).withIdentity(identity);
        try (LinuxVm vm = LinuxVm.bootVmlinux("modules", kvm, elf, config)) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!vm.console().text().contains("\n") && System.nanoTime() < deadline && !vm.stopped().isDone()) {
                Thread.sleep(20);
            }
            String out = vm.console().text();
            LinuxBootLayout layout = vm.layout();
            assertEquals(0, layout.initrdAddress() % 4096, "page-aligned: " + layout);
            assertTrue(layout.initrdAddress() >= layout.kernelEnd(), "above the kernel: " + layout);
            assertTrue(layout.initrdAddress() + 5000 <= 64L << 20, "inside RAM: " + layout);
            assertEquals(5000, layout.initrdSize());
            assertTrue(out.startsWith(String.format("M1 %08x+%08x HRAM ", layout.initrdAddress(), 5000)),
                    "one module, where the layout says, holding our bytes: " + out);
            assertTrue(out.endsWith(" modules hostd.identity=0x9f000\n"), out);

            long identityAt = Long.parseLong(out.substring(out.indexOf("hostd.identity=0x") + 17, out.length() - 1), 16);
            assertEquals(vm.layout().identityPage(), identityAt);
            Matcher m = ENTRY.matcher(out);
            List<String> reservedHolding = new java.util.ArrayList<>();
            int entries = 0;
            while (m.find()) {
                entries++;
                long addr = Long.parseLong(m.group(1), 16), size = Long.parseLong(m.group(2), 16);
                if (identityAt >= addr && identityAt + 4096 <= addr + size) {
                    reservedHolding.add(m.group(3));
                }
            }
            assertEquals(3, entries, out);
            assertEquals(List.of("2"), reservedHolding, "the identity page lies in one reserved (2) memmap entry: " + out);
            assertEquals(IdentityPage.MAGIC, vm.memory().readU32(identityAt), "the VMM wrote the identity page there");
            assertEquals(1, IdentityPage.generation(vm.memory(), identityAt));
        }
    }

    @Test
    void anInitramfsThatDoesNotFitOrAConflictingIdentityParameterIsRefused() throws Exception {
        byte[] elf = build(MODULE_GUEST);
        VmmException big = assertThrows(VmmException.class,
                () -> LinuxVm.bootVmlinux("big", kvm, elf, LinuxBootConfig.of("", 64, 1).withInitramfs(new byte[64 << 20])));
        assertEquals(VmmException.Kind.INVALID_INPUT, big.kind());
        assertTrue(big.getMessage().contains("initramfs of 67108864 bytes does not fit"), big.getMessage());
        VmmException empty = assertThrows(VmmException.class,
                () -> LinuxVm.bootVmlinux("empty", kvm, elf, LinuxBootConfig.of("", 64, 1).withInitramfs(new byte[0])));
        assertTrue(empty.getMessage().contains("initramfs is empty"), empty.getMessage());
        VmmException other = assertThrows(VmmException.class,
                () -> LinuxVm.bootVmlinux("other", kvm, elf, LinuxBootConfig.of("hostd.identity=0x5000", 64, 1)));
        assertEquals(VmmException.Kind.INVALID_INPUT, other.kind());
        assertTrue(other.getMessage().contains("sets 'hostd.identity=0x5000'"), other.getMessage());
        VmmException missing = assertThrows(VmmException.class,
                () -> LinuxBootConfig.of("", 64, 1).withInitramfs(dir.resolve("no-such.cpio")));
        assertTrue(missing.getMessage().contains("no-such.cpio"), missing.getMessage());
    }


    @Test
    void badShapesAreRefusedWithTheReason() {
        refused(new byte[4096], "console=ttyS0", 128, 0, "1..32 vCPUs, asked for 0");
        refused(new byte[4096], "console=ttyS0", 128, LinuxVm.MAX_VCPUS + 1, "1..32 vCPUs, asked for 33");
        refused(new byte[4096], "console=ttyS0", 32, 1, "64..3328 MiB");
        refused(new byte[4096], "console=ttyS0", 4096, 1, "RAM above the MMIO hole is not wired");
        refused(new byte[4096], "x".repeat(2048), 128, 1, "at most 2047");
        refused(new byte[4096], "x".repeat(2025), 128, 1, "with hostd.identity=0x9f000 appended is 2048 bytes");
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
