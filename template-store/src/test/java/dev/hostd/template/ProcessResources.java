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
        int vcpuThreads = (int) Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith("vcpu-") && !t.getName().startsWith("vcpu-pool-") && !t.getName().equals("vcpu-spawner")).count();
        return new ProcessResources(fds, kvmFds, maps.size(), vcpuMaps, templateMaps, vcpuThreads);
    }
}
