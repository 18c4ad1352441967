package dev.hostd.bench.linux;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The baseline: QEMU's microvm machine on the same /dev/kvm booting the same vmlinux through PVH
 * with the same command line, timed from the process start (QEMU's own start-up included, as hostd's
 * vmlinux extraction is). Its vCPU thread is the one QEMU names "CPU 0/KVM" (with debug-threads on).
 */
final class QemuLinuxBoot {
    static final String BINARY = "/usr/bin/qemu-system-x86_64";

    private QemuLinuxBoot() {}

    static boolean available() {
        return Files.isExecutable(Path.of(BINARY));
    }

    static BootTimeline run(Path vmlinux, String cmdline, int memoryMiB, List<BootMilestone> milestones, double cpuGuardSeconds)
            throws IOException, InterruptedException {
        long start = System.nanoTime();
        Process qemu = new ProcessBuilder(BINARY, "-M", "microvm,acpi=on,rtc=off", "-enable-kvm", "-cpu", "host,-cx16",
                "-m", Integer.toString(memoryMiB), "-smp", "1", "-name", "bench,debug-threads=on", "-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
                "-serial", "stdio", "-kernel", vmlinux.toString(), "-append", cmdline)
                .redirectErrorStream(true).start();
        StringBuffer console = new StringBuffer();
        Thread reader = Thread.ofPlatform().daemon().start(() -> copy(qemu.getInputStream(), console));
        try {
            BootTimeline t = BootTimeline.follow("QEMU microvm", start, console::toString,
                    () -> vcpuSeconds(qemu.pid()), // QEMU's vCPU thread is its own: its whole run counts
                    () -> !qemu.isAlive(), milestones, cpuGuardSeconds);
            if (t.wallAndCpu().values().stream().anyMatch(v -> Double.isNaN(v[1]))) {
                throw new IllegalStateException("QEMU's vCPU thread \"CPU 0/KVM\" was not found: its CPU time cannot be compared");
            }
            return t;
        } finally {
            qemu.destroyForcibly();
            qemu.waitFor(30, TimeUnit.SECONDS);
            reader.join(5_000);
        }
    }

    private static void copy(InputStream in, StringBuffer into) {
        byte[] buffer = new byte[8192];
        try (in) {
            for (int n; (n = in.read(buffer)) > 0; ) {
                into.append(new String(buffer, 0, n, StandardCharsets.ISO_8859_1));
            }
        } catch (IOException ignored) {
            // the process ended
        }
    }

    /** CPU seconds of the thread named "CPU 0/KVM"; NaN before it exists. */
    static double vcpuSeconds(long pid) {
        Path tasks = Path.of("/proc", Long.toString(pid), "task");
        try (Stream<Path> threads = Files.list(tasks)) {
            for (Path t : threads.toList()) {
                try {
                    if (Files.readString(t.resolve("comm")).strip().equals("CPU 0/KVM")) {
                        return OurLinuxBoot.schedstatSeconds(t.resolve("schedstat"));
                    }
                } catch (IOException | java.io.UncheckedIOException gone) {
                    // a thread that ended between the listing and the read
                }
            }
        } catch (IOException processGone) {
            return Double.NaN;
        }
        return Double.NaN;
    }
}
