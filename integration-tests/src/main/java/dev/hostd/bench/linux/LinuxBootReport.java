package dev.hostd.bench.linux;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

/** Writes docs/benchmarks/linux-boot.md: what was run, how to run it again, the figures. */
final class LinuxBootReport {
    private LinuxBootReport() {}

    static void write(Path file, Path vmlinuz, boolean hardware, int runs, String table, String basepoint, String jsonLine) throws IOException {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            host = "unknown";
        }
        String md = """
                # Linux boot benchmark

                Latest run: %s on `%s` (%d cores), JDK %s, kernel `%s`, %s. Produced by
                `dev.hostd.bench.linux.LinuxBootBenchmark`; re-run with (as root):

                ```
                scripts/bench-linux-boot
                ```

                (`-Dbench.runs=N` sets the number of boots of each; default 5 with hardware virtualization,
                1 without.) The same Debian cloud kernel, fetched by `scripts/fetch-guest-kernel`, is booted
                through its PVH entry with the same command line (`%s`) and %d MiB of RAM, one vCPU, by
                hostd's VMM (`LinuxVm`: vmlinux taken out of the bzImage's LZ4 payload in Java, our e820 map
                and ACPI tables) and, as the baseline in the same run, by QEMU's `microvm` machine
                (`-enable-kvm -cpu host,-cx16`, ACPI on) from the same vmlinux, alternating. Each milestone
                is timed when its line shows on the serial console: wall seconds from the boot request (for
                hostd including the vmlinux extraction, for QEMU its process start), and seconds the vCPU
                thread had been on a CPU, which a loaded host does not inflate. Without an initramfs the
                kernel's start-up ends at the root mount, so that is the last milestone.

                The Linux Basepoint (where VMX/SVM exist; `-Dbench.clones=N`, default 20): the kernel with
                the project's initramfs (command line `console=ttyS0 mitigations=off quiet`, 256 MiB, one
                vCPU) booted to the agent's HELLO, timed from the boot call (which takes the vmlinux out of
                the bzImage), snapshotted into `/dev/shm`, then N clones restored from it one after another,
                each timed from the restore call to its HELLO with its new identity checked (generation,
                ids, hostname, MAC, IPv4), all kept alive; after 2 s idle, the RAM each holds of its own
                (pagemap), in MB (10^6 bytes) as the target is stated.

                %s

                %s
                | figure | status |
                |---|---|
                %s
                ```json
                %s
                ```
                """.formatted(Instant.now().truncatedTo(ChronoUnit.SECONDS), host, Runtime.getRuntime().availableProcessors(),
                Runtime.version(), vmlinuz.getFileName(), runs + (runs == 1 ? " boot" : " boots") + " of each",
                LinuxBootBenchmark.CMDLINE, LinuxBootBenchmark.MEMORY_MIB,
                hardware ? "This host has VMX/SVM: the whole kernel start-up is timed."
                        : "This host has no VMX/SVM: KVM is PVM, which emulates every guest kernel instruction (host-facts.md), so only the first"
                        + " milestones are timed, and they measure the emulator more than either VMM. Where hardware virtualization exists the"
                        + " same command times the kernel's whole start-up.",
                table, basepoint.strip(), jsonLine);
        Files.createDirectories(file.toAbsolutePath().getParent());
        Files.writeString(file, md);
    }
}
