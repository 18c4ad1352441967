package dev.hostd.vmm.machine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.hostd.vmm.acpi.AcpiLayout;
import dev.hostd.vmm.kvm.Kvm;
import dev.hostd.vmm.loader.linux.E820Map;
import dev.hostd.vmm.loader.linux.ZeroPage;
import dev.hostd.vmm.loader.linux.LinuxLayout;
import dev.hostd.vmm.testing.GuestInitramfs;
import dev.hostd.vmm.testing.GuestKernel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Debian's stock cloud kernel, booted by our VMM through PVH, gets far enough to print the memory
 * map we gave it (with the identity page's reserved range), the command line with
 * {@code hostd.identity=}, the initramfs (the project's own, as the first PVH module) where we put it, and the ACPI
 * tables it found where we put them, and, booted with two vCPUs, the CPU count our MADT gives it
 * (a few seconds of guest time after the tables; it does not start the AP this early). On PVM hosts (host-facts.md) every
 * kernel instruction is emulated, so this is as far as a test can wait for; where VMX/SVM exist it
 * takes a fraction of a second. The wait is a hang guard only; the time taken is printed, not asserted.
 */
class LinuxEarlyBootIT {
    /** The earliest console that works (earlyprintk polls the UART) and nothing that slows the way to ACPI. */
    static final String CMDLINE = "earlyprintk=serial,ttyS0,115200 console=ttyS0 mitigations=off";
    static final int MEMORY_MIB = 128;
    static final int VCPUS = 2;
    /** prefill_possible_map(), after the MADT is parsed: every LAPIC we listed, none left for hotplug. */
    static final String SMP_LINE = "smpboot: Allowing " + VCPUS + " CPUs, 0 hotplug CPUs";
    /**
     * Hang guards, not time assertions. The wall time depends on what else the two cores run (22 s
     * to 178 s seen for 16-24 s of vCPU CPU time), so the guard that normally fires is on
     * the vCPU threads' CPU time; the wall-clock one only bounds a starved run.
     */
    static final double HANG_GUARD_CPU_SECONDS = 120;
    static final long HANG_GUARD_SECONDS = 900;
    static final List<String> TABLES = List.of("RSDP", "XSDT", "FACP", "DSDT", "APIC");
    static final Map<String, String> SIGNATURES = Map.of("RSDP", "RSD PTR ", "XSDT", "XSDT", "FACP", "FACP", "DSDT", "DSDT", "APIC", "APIC");

    private static final Pattern E820_LINE = Pattern.compile("BIOS-e820: \\[mem 0x([0-9a-f]+)-0x([0-9a-f]+)\\] (\\S+)");
    /** "ACPI: FACP 0x00000000000E0070 000114 (v06 HOSTD  HOSTDVM  ..." and "ACPI: RSDP 0x00000000000E0000 000024 (v02 HOSTD )". */
    /** reserve_initrd() in setup_arch: "RAMDISK: [mem 0x07cb2000-0x07ffffff]", the end rounded up to a page, minus 1. */
    private static final Pattern RAMDISK_LINE = Pattern.compile("RAMDISK: \\[mem 0x([0-9a-f]+)-0x([0-9a-f]+)\\]");
    private static final Pattern ACPI_LINE = Pattern.compile("ACPI: (RSDP|XSDT|FACP|DSDT|APIC) 0x([0-9A-F]+) ([0-9A-F]+) \\(v(\\d+) (\\S+)");

    @Test
    @Timeout(value = HANG_GUARD_SECONDS + 60, unit = TimeUnit.SECONDS)
    void theStockKernelPrintsOurE820MapAndFindsOurAcpiTables() throws Exception {
        assumeTrue(Files.exists(Kvm.DEVICE), "no /dev/kvm on this machine");
        Path vmlinuz = GuestKernel.vmlinuz();
        byte[] bzImage = Files.readAllBytes(vmlinuz);
        Path initramfs = GuestInitramfs.path();
        LinuxBootConfig config = LinuxBootConfig.of(CMDLINE, MEMORY_MIB, VCPUS).withInitramfs(initramfs);
        try (Kvm kvm = Kvm.open(); LinuxVm vm = LinuxVm.boot("early", kvm, bzImage, config)) {
            long started = System.nanoTime();
            double cpuBefore = cpuSeconds(vm.vcpuThreadIds()); // vCPU threads are pooled: count from here
            long[] firstOutput = {0};
            assertEquals(VCPUS, vm.vcpuThreadIds().length, "a thread per vCPU, the AP's waiting in KVM_RUN for a SIPI");
            String console = awaitConsole(vm, started, cpuBefore, firstOutput, "the ACPI table lines",
                    text -> TABLES.stream().allMatch(t -> ConsoleText.hasWholeLine(text, "ACPI: " + t + " ")));
            System.out.printf("LinuxEarlyBootIT: %s: first console output %.1f s, ACPI tables %.1f s (wall) after the vCPU started;"
                    + " vCPU threads on CPU %.1f s%n", vmlinuz.getFileName(), (firstOutput[0] - started) / 1e9,
                    (System.nanoTime() - started) / 1e9, cpuSeconds(vm.vcpuThreadIds()) - cpuBefore);

            LinuxBootLayout layout = vm.layout();
            assertEquals(CMDLINE + " hostd.identity=0x9f000", layout.cmdline());
            // the whole line: the serial console ends lines with CR LF
            assertTrue(Pattern.compile("Command line: " + Pattern.quote(layout.cmdline()) + "\r?\n").matcher(console).find(),
                    "the kernel read our command line with the identity page's address:\n" + console);
            assertE820MatchesWhatWeGave(console, layout.e820());
            assertIdentityPageIsReserved(console, layout.identityPage());
            assertRamdiskIsOurs(console, layout, Files.size(initramfs));
            assertAcpiTablesAreOurs(console, layout.acpi());
            // KVM's paravirtual clock: the CPUID we pass names the KVM leaves, and the kernel takes its MSRs (setup_arch,
            // before the ACPI tables): guest time comes from kvmclock, the clock a snapshot carries with KVM_GET/SET_CLOCK.
            assertTrue(console.contains("Hypervisor detected: KVM"), "the kernel found KVM's CPUID leaves:\n" + console);
            assertTrue(console.contains("kvm-clock: Using msrs 4b564d01 and 4b564d00"), "the kernel uses kvmclock:\n" + console);

            // the MADT's two local APICs became two possible CPUs (the line comes once the tables are parsed)
            console = awaitConsole(vm, started, cpuBefore, firstOutput, "'" + SMP_LINE + "'", text -> ConsoleText.hasWholeLine(text, "smpboot: Allowing "));
            assertTrue(console.contains(SMP_LINE), "the kernel counted our vCPUs:\n" + console);
            System.out.printf("LinuxEarlyBootIT: '%s' %.1f s (wall); vCPU threads on CPU %.1f s%n", SMP_LINE,
                    (System.nanoTime() - started) / 1e9, cpuSeconds(vm.vcpuThreadIds()) - cpuBefore);
            assertEquals(VCPUS, vm.vcpuThreadIds().length, "both vCPUs still there");
        }
    }

    /** Polls the console until {@code done} holds for it; notes when the first output appeared. */
    private static String awaitConsole(LinuxVm vm, long started, double cpuBefore, long[] firstOutput, String what,
            java.util.function.Predicate<String> done) throws InterruptedException {
        long deadline = started + TimeUnit.SECONDS.toNanos(HANG_GUARD_SECONDS);
        while (true) {
            String text = vm.console().text();
            if (firstOutput[0] == 0 && !text.isEmpty()) {
                firstOutput[0] = System.nanoTime(); // for the printout: where the time goes, not an assertion
            }
            if (done.test(text)) {
                return text;
            }
            if (vm.stopped().isDone()) {
                try {
                    vm.stopped().join();
                    fail("the VM stopped (" + vm.stopped().join() + ") before printing " + what + "; console:\n" + text);
                } catch (RuntimeException e) {
                    fail("the guest failed before printing " + what + ": " + e.getCause(), e);
                }
            }
            double cpu = cpuSeconds(vm.vcpuThreadIds()) - cpuBefore;
            if (cpu > HANG_GUARD_CPU_SECONDS) {
                fail("hang guard: no " + what + " after " + Math.round(cpu) + " s of vCPU CPU time; console:\n" + text);
            }
            if (System.nanoTime() > deadline) {
                fail("hang guard: no " + what + " after " + HANG_GUARD_SECONDS + " s (vCPU CPU time " + Math.round(cpu)
                        + " s); console:\n" + text);
            }
            Thread.sleep(250);
        }
    }

    /**
     * Time the vCPU threads spent on a CPU (first field of schedstat, ns), summed: the part of the
     * wall time not lost to other load. NaN (never over the guard) if it cannot be read.
     */
    private static double cpuSeconds(int[] tids) {
        try {
            long ns = 0;
            for (int tid : tids) {
                ns += Long.parseLong(Files.readString(Path.of("/proc/self/task/" + tid + "/schedstat")).split(" ")[0]);
            }
            return tids.length == 0 ? Double.NaN : ns / 1e9;
        } catch (java.io.IOException | RuntimeException e) {
            return Double.NaN; // only for the printout
        }
    }

    private static void assertE820MatchesWhatWeGave(String console, E820Map given) {
        List<String> printed = new ArrayList<>();
        Matcher m = E820_LINE.matcher(console);
        while (m.find()) {
            printed.add(m.group(1) + "-" + m.group(2) + " " + m.group(3));
        }
        List<String> expected = new ArrayList<>();
        for (E820Map.Entry e : given.entries()) {
            String type = switch (e.type()) {
                case ZeroPage.E820_RAM -> "usable";
                case ZeroPage.E820_RESERVED -> "reserved";
                default -> throw new AssertionError("the test knows no e820 type " + e.type());
            };
            expected.add(String.format("%016x-%016x %s", e.address(), e.end() - 1, type));
        }
        assertEquals(expected, printed, "BIOS-e820 lines, in order, against the map in hvm_start_info");
    }

    /** The page hostd.identity= names lies in a range the kernel printed as reserved (so /dev/mem lets the agent map it). */
    private static void assertIdentityPageIsReserved(String console, long page) {
        assertEquals(LinuxLayout.IDENTITY_PAGE, page);
        Matcher m = E820_LINE.matcher(console);
        List<String> holding = new ArrayList<>();
        while (m.find()) {
            if (Long.parseLong(m.group(1), 16) <= page && page + 4095 <= Long.parseLong(m.group(2), 16)) {
                holding.add(m.group(0));
            }
        }
        assertEquals(List.of("BIOS-e820: [mem 0x000000000009f000-0x00000000000fffff] reserved"), holding,
                "the identity page at 0x" + Long.toHexString(page) + " in one reserved e820 range");
    }

    /** The kernel took the first PVH module as its initrd, at our address and size, before looking for ACPI tables. */
    private static void assertRamdiskIsOurs(String console, LinuxBootLayout layout, long fileSize) {
        Matcher m = RAMDISK_LINE.matcher(console);
        assertTrue(m.find(), "no RAMDISK line before the ACPI table lines:\n" + console);
        assertEquals(fileSize, layout.initrdSize());
        long pageEnd = (layout.initrdAddress() + layout.initrdSize() + 4095) & -4096L;
        assertEquals(String.format("%08x-%08x", layout.initrdAddress(), pageEnd - 1), m.group(1) + "-" + m.group(2),
                "RAMDISK line against where LinuxVm put the initramfs");
        assertTrue(m.start() < console.indexOf("ACPI: RSDP"), "setup_arch reserves the initrd before it reads the ACPI tables");
        assertTrue(!m.find(), "one RAMDISK line");
    }

    private static void assertAcpiTablesAreOurs(String console, AcpiLayout acpi) {
        Matcher m = ACPI_LINE.matcher(console);
        List<String> seen = new ArrayList<>();
        while (m.find()) {
            String name = m.group(1);
            AcpiLayout.Table table = acpi.table(SIGNATURES.get(name));
            seen.add(name);
            assertEquals(table.address(), Long.parseLong(m.group(2), 16), name + " address");
            assertEquals(table.bytes().length, Integer.parseInt(m.group(3), 16), name + " length");
            assertEquals(Byte.toUnsignedInt(table.bytes()[name.equals("RSDP") ? 15 : 8]), Integer.parseInt(m.group(4)), name + " revision");
            assertEquals("HOSTD", m.group(5), name + " OEM id");
        }
        assertEquals(new java.util.TreeSet<>(TABLES), new java.util.TreeSet<>(seen), "each of our tables is reported");
        assertEquals(TABLES.size(), seen.size(), "each once: " + seen);
        assertEquals(acpi.rsdpAddress(), Long.parseLong(find(console, "ACPI: RSDP 0x([0-9A-F]+)"), 16),
                "the kernel used the RSDP we named in hvm_start_info");
    }

    private static String find(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        assertTrue(m.find(), "no match for " + regex);
        return m.group(1);
    }
}
