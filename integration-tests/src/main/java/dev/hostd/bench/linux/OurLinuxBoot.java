package dev.hostd.bench.linux;

import dev.hostd.vmm.kvm.Kvm;
import dev.hostd.vmm.machine.LinuxVm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** The kernel booted by hostd's VMM (LinuxVm, PVH entry), timed from the boot call. */
final class OurLinuxBoot {
    private OurLinuxBoot() {}

    static BootTimeline run(Kvm kvm, byte[] bzImage, String cmdline, int memoryMiB, List<BootMilestone> milestones,
                            double cpuGuardSeconds) throws InterruptedException {
        long start = System.nanoTime(); // includes taking the vmlinux out of the bzImage, as a cold boot must
        try (LinuxVm vm = LinuxVm.boot("bench-linux", kvm, bzImage, cmdline, memoryMiB, 1)) {
            int tid = vm.vcpuThreadIds()[0];
            double cpuBefore = schedstatSeconds(Path.of("/proc/self/task/" + tid + "/schedstat")); // pooled thread: from here
            return BootTimeline.follow("hostd", start, () -> vm.console().text(),
                    () -> schedstatSeconds(Path.of("/proc/self/task/" + tid + "/schedstat")) - cpuBefore,
                    () -> vm.stopped().isDone(), milestones, cpuGuardSeconds);
        }
    }

    /** The first field of a thread's schedstat: nanoseconds it ran. */
    static double schedstatSeconds(Path schedstat) {
        try {
            return Long.parseLong(Files.readString(schedstat).split(" ")[0]) / 1e9;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
