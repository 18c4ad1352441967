package dev.hostd.vmm.machine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.hostd.vmm.kvm.Kvm;
import dev.hostd.vmm.loader.linux.BzImage;
import dev.hostd.vmm.loader.linux.E820Map;
import dev.hostd.vmm.loader.linux.Vmlinux;
import dev.hostd.vmm.loader.linux.ZeroPage;
import dev.hostd.vmm.testing.GuestInitramfs;
import dev.hostd.vmm.testing.GuestKernel;
import dev.hostd.vmm.testing.VcpuCpuTime;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Debian's stock cloud kernel booted through the x86 64-bit boot protocol ({@link LinuxVm#bootBzImage64}):
 * the bzImage's own decompressor runs in the guest, from our zero page, page tables and GDT.
 *
 * <p>That kernel is built without CONFIG_X86_VERBOSE_BOOTUP, so its decompressor prints none of
 * its debug lines ("early console in extract_kernel", input_data/output/..., "Decompressing
 * Linux..."); what it prints on its early console regardless is a warning such as the one for
 * {@code nokaslr}. So the test checks that line (the decompressor parsed earlyprintk from our
 * cmd_line_ptr and reached extract_kernel), and then reads guest memory: what the decompressor
 * writes at the load address must be the vmlinux that our own LZ4 decoder takes out of the same
 * payload, which shows that {@code output} is our load address and {@code input} the payload the
 * header names. On this PVM host every guest kernel instruction is emulated (host-facts.md) and
 * decompressing all 53 MB takes about 130 s of vCPU time, so the first test stops after a prefix;
 * the second (about 155 s of vCPU time here, 4-5 minutes of wall time) waits for the decompressed
 * kernel's own banner and ACPI lines and checks the command line, e820 map and initramfs it read
 * from the zero page.
 */
class LinuxBzImageBootIT {
    static final String CMDLINE = "earlyprintk=serial,ttyS0,115200 console=ttyS0 nokaslr";
    static final int MEMORY_MIB = 128;
    /** warn() in the decompressor's kaslr.c, printed (between blank lines, each line ended CR LF) whatever the config. */
    static final String DECOMPRESSOR_LINE = "KASLR disabled: 'nokaslr' on cmdline.\r\n";
    /** How much of the vmlinux the decompressor must have written (at about 0.2 MB per second of vCPU time here). */
    static final long DECOMPRESSED_BYTES = 2L << 20;
    /**
     * Hang guards, not time assertions: vCPU CPU time (what the guest got) and wall time (a starved
     * run). The full boot's guard is for PVM hosts too, where it needs about 150 s of vCPU time.
     */
    static final double HANG_GUARD_CPU_SECONDS = 60, FULL_BOOT_HANG_GUARD_CPU_SECONDS = 300;
    static final long HANG_GUARD_SECONDS = 900;
    private static final Pattern E820_LINE = Pattern.compile("BIOS-e820: \\[mem 0x([0-9a-f]+)-0x([0-9a-f]+)\\] (\\S+)");

    @Test
    @Timeout(value = HANG_GUARD_SECONDS + 60, unit = TimeUnit.SECONDS)
    void theDecompressorRunsFromOurZeroPageAndDecompressesOurPayloadToTheLoadAddress() throws Exception {
        assumeTrue(Files.exists(Kvm.DEVICE), "no /dev/kvm on this machine");
        Path vmlinuz = GuestKernel.vmlinuz();
        byte[] bzImage = Files.readAllBytes(vmlinuz);
        BzImage image = BzImage.parse(bzImage);
        MemorySegment vmlinux = MemorySegment.ofArray(Vmlinux.extract(bzImage)); // payload_offset, payload_length
        try (Kvm kvm = Kvm.open(); LinuxVm vm = LinuxVm.bootBzImage64("bz64", kvm, bzImage, LinuxBootConfig.of(CMDLINE, MEMORY_MIB, 1))) {
            long load = image.prefAddress();
            assertEquals(load + 0x200, vm.layout().entry(), "startup_64 at pref_address + 0x200");
            Start start = Start.of(vm);
            MemorySegment output = vm.memory().slice(load, vmlinux.byteSize());

            Progress line = await(vm, start, HANG_GUARD_CPU_SECONDS, "the decompressor's nokaslr warning",
                    v -> v.console().text().contains(DECOMPRESSOR_LINE));
            Progress bytes = await(vm, start, HANG_GUARD_CPU_SECONDS, DECOMPRESSED_BYTES + " bytes of the vmlinux at the load address",
                    v -> decompressed(output, vmlinux) >= DECOMPRESSED_BYTES);
            long done = decompressed(output, vmlinux);
            System.out.printf("LinuxBzImageBootIT: %s via the 64-bit entry: decompressor's first line after %.1f s of vCPU time;"
                    + " %d of %d vmlinux bytes (%.1f%%) at 0x%x after %.1f s of vCPU time (%.1f s wall): %.2f MB per vCPU second%n",
                    vmlinuz.getFileName(), line.cpuSeconds, done, vmlinux.byteSize(), 100.0 * done / vmlinux.byteSize(), load,
                    bytes.cpuSeconds, bytes.wallSeconds, (done / 1e6) / (bytes.cpuSeconds - line.cpuSeconds));

            assertTrue(vm.console().text().replaceFirst("^(\r\n)*", "").startsWith(DECOMPRESSOR_LINE),
                    "the decompressor is the first to write to the console, through the early console it set up from"
                            + " earlyprintk= in our command line:\n" + vm.console().text());
        }
    }

    @Test
    @Timeout(value = HANG_GUARD_SECONDS + 60, unit = TimeUnit.SECONDS)
    void theDecompressedKernelPrintsItsBannerAndReadsTheZeroPage() throws Exception {
        // Runs on PVM hosts too: every guest kernel instruction is emulated there, so the decompressor needs
        // about 130 s of vCPU time for the 53 MB vmlinux and the ACPI lines come after about 150 s
        // (docs/design.md); the hang guard counts vCPU time, not wall time.
        assumeTrue(Files.exists(Kvm.DEVICE), "no /dev/kvm on this machine");
        byte[] bzImage = Files.readAllBytes(GuestKernel.vmlinuz());
        Path initramfs = GuestInitramfs.path();
        LinuxBootConfig config = LinuxBootConfig.of(CMDLINE, MEMORY_MIB, 1).withInitramfs(initramfs);
        try (Kvm kvm = Kvm.open(); LinuxVm vm = LinuxVm.bootBzImage64("bz64-full", kvm, bzImage, config)) {
            Progress acpi = await(vm, Start.of(vm), FULL_BOOT_HANG_GUARD_CPU_SECONDS, "ACPI RSDP line from the decompressed kernel",
                    v -> ConsoleText.hasWholeLine(v.console().text(), "ACPI: RSDP"));
            System.out.printf("LinuxBzImageBootIT: the kernel's ACPI lines after %.1f s of vCPU time (%.1f s wall)%n",
                    acpi.cpuSeconds, acpi.wallSeconds);
            String console = vm.console().text();
            int decompressor = console.indexOf(DECOMPRESSOR_LINE), banner = console.indexOf("Linux version ");
            assertTrue(decompressor >= 0 && banner > decompressor, "the decompressor's line, then the kernel's banner:\n" + console);
            assertTrue(console.contains("Command line: " + vm.layout().cmdline()), "the kernel read our cmd_line_ptr:\n" + console);
            assertEquals(expectedE820(vm.layout().e820()), printedE820(console), "BIOS-e820 lines against the zero page's e820_table");
            // reserve_initrd(): "RAMDISK: [mem 0x07cd2000-0x07ffffff]", from ramdisk_image/ramdisk_size, the end rounded up to a page
            LinuxBootLayout layout = vm.layout();
            assertEquals(Files.size(initramfs), layout.initrdSize());
            assertTrue(console.contains(String.format("RAMDISK: [mem 0x%08x-0x%08x]", layout.initrdAddress(),
                    ((layout.initrdAddress() + layout.initrdSize() + 4095) & -4096L) - 1)), "the initramfs where we put it:\n" + console);
            assertTrue(console.contains(String.format("ACPI: RSDP 0x%016X ", layout.acpi().rsdpAddress())),
                    "the RSDP at acpi_rsdp_addr:\n" + console);
        }
    }

    /** How long the guest took to reach something: vCPU CPU time and wall time since it started. */
    private record Progress(double cpuSeconds, double wallSeconds) {}

    /** When the vCPU started, to measure from: its CPU time then (vCPU threads are pooled) and the wall clock. */
    private record Start(double cpuSeconds, long nanoTime) {
        static Start of(LinuxVm vm) {
            return new Start(VcpuCpuTime.seconds(vm.vcpuThreadIds()), System.nanoTime());
        }
    }

    private static Progress await(LinuxVm vm, Start start, double cpuGuardSeconds, String what, Predicate<LinuxVm> reached)
            throws InterruptedException {
        long deadline = start.nanoTime + TimeUnit.SECONDS.toNanos(HANG_GUARD_SECONDS);
        while (true) {
            double cpu = VcpuCpuTime.seconds(vm.vcpuThreadIds()) - start.cpuSeconds;
            if (reached.test(vm)) {
                return new Progress(cpu, (System.nanoTime() - start.nanoTime) / 1e9);
            }
            if (vm.stopped().isDone()) {
                try {
                    fail("the VM stopped (" + vm.stopped().join() + ") before " + what + "; console:\n" + vm.console().text());
                } catch (RuntimeException e) {
                    fail("the guest failed before " + what + ": " + e.getCause() + "; console:\n" + vm.console().text(), e);
                }
            }
            if (cpu > cpuGuardSeconds || System.nanoTime() > deadline) {
                fail("hang guard: no " + what + " after " + Math.round(cpu) + " s of vCPU CPU time; console:\n" + vm.console().text());
            }
            Thread.sleep(250);
        }
    }

    /** Bytes at the start of {@code output} equal to the vmlinux. */
    private static long decompressed(MemorySegment output, MemorySegment vmlinux) {
        long mismatch = output.mismatch(vmlinux);
        return mismatch < 0 ? vmlinux.byteSize() : mismatch;
    }

    private static List<String> expectedE820(E820Map map) {
        List<String> lines = new ArrayList<>();
        for (E820Map.Entry e : map.entries()) {
            lines.add(String.format("%016x-%016x %s", e.address(), e.end() - 1, e.type() == ZeroPage.E820_RAM ? "usable" : "reserved"));
        }
        return lines;
    }

    private static List<String> printedE820(String console) {
        List<String> lines = new ArrayList<>();
        Matcher m = E820_LINE.matcher(console);
        while (m.find()) {
            lines.add(m.group(1) + "-" + m.group(2) + " " + m.group(3));
        }
        return lines;
    }
}
