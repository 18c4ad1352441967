package dev.hostd.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The daemon with hostd.cgroups.enabled on this host's cgroup v1 hierarchies: a sandbox's vCPU
 * thread is in its own group below the configured container, with the configured quota, and
 * deleting the sandbox and stopping the daemon leave nothing behind.
 */
class CgroupsIT {
    static final Path CPU = Path.of("/sys/fs/cgroup/cpu");

    @Test
    void aSandboxsVcpuThreadIsInItsOwnCgroupUntilDeleted() throws Exception {
        assumeTrue(Files.isWritable(CPU.resolve("tasks")) && Files.readString(Path.of("/proc/self/cgroup")).contains(":cpu:/\n"),
                "needs a writable cgroup v1 cpu hierarchy with this process at its root (the v2 path is covered in cgroup-tuner)");
        String container = "hostd-it-daemon-" + ProcessHandle.current().pid();
        Path containerDir = CPU.resolve(container);
        try (TestDirs dirs = new TestDirs("cgroups"); UdsHttpClient client = new UdsHttpClient(dirs.socket)) {
            Map<String, Object> p = new HashMap<>();
            p.put("hostd.socket.path", dirs.socket.toString());
            p.put("hostd.state-dir", dirs.state.toString());
            p.put("hostd.templates.root", dirs.templatesRoot.toString());
            p.put("hostd.warmup-clones", 0);
            p.put("hostd.cgroups.enabled", true);
            p.put("hostd.cgroups.container", container);
            p.put("hostd.cgroups.pool-size", 2);
            p.put("hostd.cgroups.cpu-percent", 30);
            try (ApplicationContext context = ApplicationContext.run(EmbeddedServer.class, p).getApplicationContext()) {
                assertEquals(201, client.post("/v1/templates", Map.of("id", "cg-tpl", "image", "test-guest", "memoryMiB", 16)).status());
                assertEquals(201, client.post("/v1/sandboxes", Map.of("id", "cg1", "template", "cg-tpl", "tenant", "t")).status());
                int tid = threadNamed("vcpu-cg1").orElseThrow();
                String cpuLine = Files.readAllLines(Path.of("/proc/self/task/" + tid + "/cgroup")).stream()
                        .filter(l -> l.matches("\\d+:cpu:.*")).findFirst().orElseThrow();
                assertTrue(cpuLine.startsWith(cpuLine.substring(0, cpuLine.indexOf(':') + 1) + "cpu:/" + container + "/"), cpuLine);
                Path group = CPU.resolve(cpuLine.substring(cpuLine.indexOf(":/") + 2));
                assertEquals("30000", Files.readString(group.resolve("cpu.cfs_quota_us")).trim());
                assertEquals(204, client.delete("/v1/sandboxes/cg1").status());
                assertEquals("", Files.readString(group.resolve("tasks")).trim(), "no thread left in the sandbox's group after delete");
            }
            assertFalse(Files.exists(containerDir), "the daemon's stop removed its container " + containerDir);
        } finally {
            if (Files.isDirectory(containerDir)) { // failed half-way: leave the host as it was
                try (Stream<Path> groups = Files.list(containerDir)) {
                    for (Path g : groups.filter(Files::isDirectory).toList()) {
                        for (String t : Files.readAllLines(g.resolve("tasks"))) {
                            Files.writeString(CPU.resolve("tasks"), t);
                        }
                        Files.delete(g);
                    }
                }
                Files.delete(containerDir);
            }
        }
    }

    private static Optional<Integer> threadNamed(String name) {
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path t : tasks.toList()) {
                if (Files.readString(t.resolve("comm")).trim().equals(name)) {
                    return Optional.of(Integer.parseInt(t.getFileName().toString()));
                }
            }
            return Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

}
