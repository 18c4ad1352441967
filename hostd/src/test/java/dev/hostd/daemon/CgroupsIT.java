package dev.hostd.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The daemon with hostd.cgroups.enabled on this host's cgroup v1 hierarchies: a sandbox's vCPU
 * thread is in its own group below the configured container, with the limits its create request
 * asked for (or the configured defaults), the API reports the group, its limits and CPU time, a
 * second daemon with the same container refuses to start, and deleting the sandbox and stopping
 * the daemon leave nothing behind.
 */
class CgroupsIT {
    static final Path CPU = Path.of("/sys/fs/cgroup/cpu");

    private final String container = "hostd-it-daemon-" + ProcessHandle.current().pid();
    private final Path containerDir = CPU.resolve(container);

    @BeforeEach
    void needsCgroupV1() throws IOException {
        assumeTrue(Files.isWritable(CPU.resolve("tasks")) && Files.readString(Path.of("/proc/self/cgroup")).contains(":cpu:/\n"),
                "needs a writable cgroup v1 cpu hierarchy with this process at its root (the v2 path is covered in cgroup-tuner)");
    }

    private Map<String, Object> properties(TestDirs dirs, int poolSize) {
        Map<String, Object> p = dirs.daemonProperties();
        p.put("hostd.warmup-clones", 0);
        p.put("hostd.cgroups.enabled", true);
        p.put("hostd.cgroups.container", container);
        p.put("hostd.cgroups.pool-size", poolSize);
        p.put("hostd.cgroups.cpu-percent", 30);
        return p;
    }

    @Test
    void limitsAreAppliedAndReportedAndASecondDaemonOnTheSameContainerRefusesToStart() throws Exception {
        try (TestDirs dirs = new TestDirs("cgroups"); TestDirs second = new TestDirs("cgroups-2nd");
             UdsHttpClient client = new UdsHttpClient(dirs.socket)) {
            try (ApplicationContext context = ApplicationContext.run(EmbeddedServer.class, properties(dirs, 2)).getApplicationContext()) {
                assertEquals(201, client.post("/v1/templates", Map.of("id", "cg-tpl", "image", "test-guest", "memoryMiB", 16)).status());

                // Defaults from hostd.cgroups.cpu-percent / cpu-weight.
                JsonNode dflt = client.post("/v1/sandboxes", Map.of("id", "cg1", "template", "cg-tpl", "tenant", "t")).json();
                Path group1 = groupOf("vcpu-cg1");
                assertEquals("30000", Files.readString(group1.resolve("cpu.cfs_quota_us")).trim());
                assertEquals("1024", Files.readString(group1.resolve("cpu.shares")).trim(), "weight 100 is 1024 shares");
                assertEquals(30, dflt.get("resources").get("limits").get("cpuPercent").asInt(), dflt::toString);
                assertEquals(100, dflt.get("resources").get("limits").get("cpuWeight").asInt(), dflt::toString);

                // The request's limits.
                UdsHttpClient.Response created = client.post("/v1/sandboxes", Map.of("id", "cg2", "template", "cg-tpl", "tenant", "t",
                        "limits", Map.of("cpuPercent", 20, "cpuWeight", 200)));
                assertEquals(201, created.status(), created::toString);
                Path group2 = groupOf("vcpu-cg2");
                assertFalse(group1.equals(group2), "each sandbox has a group of its own");
                assertEquals("20000", Files.readString(group2.resolve("cpu.cfs_quota_us")).trim());
                assertEquals("100000", Files.readString(group2.resolve("cpu.cfs_period_us")).trim());
                assertEquals("2048", Files.readString(group2.resolve("cpu.shares")).trim(), "weight 200 is 2048 shares");
                JsonNode r = created.json().get("resources");
                assertEquals("/" + CPU.relativize(group2), r.get("cgroup").asText(), "the API names the group the thread is in");
                assertEquals(20, r.get("limits").get("cpuPercent").asInt());
                assertEquals(200, r.get("limits").get("cpuWeight").asInt());

                // A member left out takes its default; an out-of-range one is refused and takes nothing.
                JsonNode half = client.post("/v1/sandboxes", Map.of("id", "cg3", "template", "cg-tpl", "tenant", "t",
                        "limits", Map.of("cpuWeight", 50))).json();
                assertEquals(30, half.get("resources").get("limits").get("cpuPercent").asInt(), half::toString);
                assertEquals("512", Files.readString(groupOf("vcpu-cg3").resolve("cpu.shares")).trim());
                UdsHttpClient.Response bad = client.post("/v1/sandboxes", Map.of("id", "cg4", "template", "cg-tpl", "tenant", "t",
                        "limits", Map.of("cpuPercent", 150)));
                assertEquals(400, bad.status(), bad::toString);
                assertTrue(bad.json().get("detail").asText().startsWith("limits.cpuPercent must be 1..100"), bad::toString);
                assertEquals(404, client.get("/v1/sandboxes/cg4").status());

                // CPU time and private memory as the guest works. The spin runs on the guest's clock, so on a loaded host
                // its vCPU thread could get next to no CPU in those 50 ms: the test's container takes first claim on
                // the CPU (the largest cpu.shares) so that the group gets its quota.
                Files.writeString(containerDir.resolve("cpu.shares"), "262144");
                assertEquals("OK", invoke(client, "cg2", "spin", 50).get("statusName").asText());
                JsonNode got = client.get("/v1/sandboxes/cg2").json().get("resources");
                // 50 ms of wall time under a 20 ms per 100 ms quota: the thread ran for up to 20 ms of it.
                assertTrue(got.get("cpuUsageNanos").asLong() >= 5_000_000L, "a 50 ms spin shows in the group's CPU time: " + got);
                long before = got.get("privateMemoryBytes").asLong();
                assertEquals("OK", invoke(client, "cg2", "touch", 1).get("statusName").asText());
                long after = client.get("/v1/sandboxes/cg2").json().get("resources").get("privateMemoryBytes").asLong();
                assertTrue(after >= before + (1 << 20), "touching 1 MiB adds 1 MiB of private pages: " + before + " -> " + after);

                // A second daemon with the same container must not start (it would remove this one's groups).
                Map<String, Object> p2 = properties(second, 2);
                Throwable refused = assertThrows(RuntimeException.class,
                        () -> ApplicationContext.run(EmbeddedServer.class, p2).close());
                assertTrue(messages(refused).contains("is in use by another hostd"), messages(refused));
                assertTrue(messages(refused).contains("hostd.cgroups.container"), messages(refused));
                assertEquals(group2, groupOf("vcpu-cg2"), "the first daemon's sandbox kept its group");
                assertEquals(200, client.get("/v1/sandboxes/cg2").status());

                for (String id : new String[] {"cg1", "cg2", "cg3"}) {
                    assertEquals(204, client.delete("/v1/sandboxes/" + id).status());
                }
                assertEquals("", Files.readString(group2.resolve("tasks")).trim(), "no thread left in the sandbox's group after delete");
            }
            assertFalse(Files.exists(containerDir), "the daemon's stop removed its container " + containerDir);
        }
    }

    @Test
    void withoutAPoolTheGroupIsRemovedWithItsSandbox() throws Exception {
        try (TestDirs dirs = new TestDirs("cgroups-nopool"); UdsHttpClient client = new UdsHttpClient(dirs.socket)) {
            try (ApplicationContext context = ApplicationContext.run(EmbeddedServer.class, properties(dirs, 0)).getApplicationContext()) {
                assertEquals(201, client.post("/v1/templates", Map.of("id", "cg-tpl", "image", "test-guest", "memoryMiB", 16)).status());
                assertEquals(201, client.post("/v1/sandboxes", Map.of("id", "np1", "template", "cg-tpl", "tenant", "t",
                        "limits", Map.of("cpuPercent", 5))).status());
                Path group = groupOf("vcpu-np1");
                assertEquals("5000", Files.readString(group.resolve("cpu.cfs_quota_us")).trim());
                assertEquals(204, client.delete("/v1/sandboxes/np1").status());
                assertFalse(Files.exists(group), "pool-size 0: the group is removed with its sandbox");
            }
            assertFalse(Files.exists(containerDir), "the daemon's stop removed its container " + containerDir);
        }
    }

    /** Leaves the host as it was if a test failed half-way. */
    @AfterEach
    void removeWhatIsLeft() throws IOException {
        if (!Files.isDirectory(containerDir)) {
            return;
        }
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

    private static JsonNode invoke(UdsHttpClient client, String id, String function, int argument) {
        byte[] arg = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(argument).array();
        UdsHttpClient.Response r = client.post("/v1/sandboxes/" + id + "/invoke",
                Map.of("function", function, "argumentBase64", Base64.getEncoder().encodeToString(arg)));
        assertEquals(200, r.status(), r::toString);
        return r.json();
    }

    private static String messages(Throwable t) {
        StringBuilder b = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause()) {
            b.append(c.getMessage()).append(" | ");
        }
        return b.toString();
    }

    /** The cpu-hierarchy group directory of the thread named {@code name}. */
    private Path groupOf(String name) throws IOException {
        int tid = threadNamed(name).orElseThrow(() -> new AssertionError("no thread " + name));
        String cpuLine = Files.readAllLines(Path.of("/proc/self/task/" + tid + "/cgroup")).stream()
                .filter(l -> l.matches("\\d+:cpu:.*")).findFirst().orElseThrow();
        String path = cpuLine.substring(cpuLine.indexOf(":/") + 1);
        assertTrue(path.startsWith("/" + container + "/"), cpuLine);
        Path group = CPU.resolve(path.substring(1));
        assertNotNull(group);
        return group;
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
