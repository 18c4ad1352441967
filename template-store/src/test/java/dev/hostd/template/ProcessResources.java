package dev.hostd.template;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** What this process holds, read from /proc/self: open fds and their targets, mappings, threads running a vCPU (idle pooled threads are not counted). */
record ProcessResources(int fds, int kvmFds, int mappings, int vcpuMappings, int templateMappings, int vcpuThreads) {
    static ProcessResources now(Path templateDir) throws IOException {
        int fds = 0, kvmFds = 0;
        try (Stream<Path> entries = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : entries.toList()) {
                fds++;
                try {
                    if (Files.readSymbolicLink(fd).toString().startsWith("anon_inode:kvm")) {
                        kvmFds++;
                    }
                } catch (IOException gone) {
                    // the fd used by Files.list itself closes while we walk
                }
            }
        }
        List<String> maps = Files.readAllLines(Path.of("/proc/self/maps"));
        int vcpuMaps = (int) maps.stream().filter(l -> l.contains("kvm-vcpu")).count();
        int templateMaps = (int) maps.stream().filter(l -> l.contains(templateDir.toString())).count();
        return new ProcessResources(fds, kvmFds, maps.size(), vcpuMaps, templateMaps, vcpuThreadsNow());
    }

    private static int vcpuThreadsNow() {
        return (int) Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith("vcpu-") && !t.getName().startsWith("vcpu-pool-") && !t.getName().equals("vcpu-spawner")).count();
    }

    /**
     * Threads running a vCPU, once that count is {@code expected} or after a 20 s hang guard. A pooled
     * thread takes its pool name back just after it has told the closing sandbox its VM stopped, so
     * right after a close it can still carry the sandbox's name for a moment.
     */
    static int awaitVcpuThreads(int expected) throws InterruptedException {
        long end = System.nanoTime() + 20_000_000_000L;
        int n;
        while ((n = vcpuThreadsNow()) != expected && System.nanoTime() - end < 0) {
            Thread.sleep(5);
        }
        return n;
    }
}
