package dev.hostd.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * hostd as systemd runs it: a separate JVM started through {@code HostdApplication.main} with
 * {@code -Dhostd.*} overrides and {@code $NOTIFY_SOCKET} pointing at a datagram socket this test
 * bound. Checks READY=1 after the start, no TCP listener, SIGTERM → STOPPING=1, sandboxes deleted,
 * templates kept, and a restart that adopts the templates and warms the clone path.
 */
class DaemonProcessIT {
    private static final long GUARD_SECONDS = 180; // guards against a hang, not timing assertions

    /**
     * Settings come from all three layers: a config file (as /etc/hostd/hostd.yml would be) for the
     * paths, the environment for the sandbox limit, a system property for the warm-up.
     */
    private Process start(TestDirs dirs, Path notifySocket, Path log) throws IOException {
        Path config = dirs.base.resolve("hostd.yml");
        Files.writeString(config, "hostd:\n  socket:\n    path: " + dirs.socket + "\n  state-dir: " + dirs.state
                + "\n  templates:\n    root: " + dirs.templatesRoot + "\n  warmup-clones: 0\n");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                "-Dhostd.config=" + config, "-Dhostd.warmup-clones=2",
                DaemonProcessIT.class.getPackageName() + ".HostdApplication"));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("NOTIFY_SOCKET", notifySocket.toString());
        pb.environment().put("HOSTD_LIMITS_MAX_SANDBOXES", "7");
        return pb.start();
    }

    /** Datagrams until one contains {@code wanted}; all of them, for the failure message. */
    private static String awaitNotification(UnixDatagram.Receiver receiver, String wanted, Process p, Path log) throws IOException {
        StringBuilder seen = new StringBuilder();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(GUARD_SECONDS);
        while (System.nanoTime() < deadline) {
            String m = receiver.receive();
            if (m != null) {
                seen.append(m.replace('\n', ' ')).append(" | ");
                if (m.lines().anyMatch(wanted::equals)) {
                    return m;
                }
            } else if (!p.isAlive() && !wanted.equals("STOPPING=1")) {
                break;
            }
        }
        throw new AssertionError("no " + wanted + " from hostd; got: " + seen + "\nlog:\n" + Files.readString(log));
    }

    @Test
    void readyNotifiedNoTcpSigtermDeletesSandboxesKeepsTemplatesRestartAdopts() throws Exception {
        try (TestDirs dirs = new TestDirs("proc")) {
            Files.createDirectories(dirs.base);
            Path log1 = dirs.base.resolve("hostd-1.log"), log2 = dirs.base.resolve("hostd-2.log");
            Process p1 = null, p2 = null;
            try (UdsHttpClient client = new UdsHttpClient(dirs.socket)) {
                try (UnixDatagram.Receiver notify = UnixDatagram.Receiver.bind(dirs.base.resolve("notify.sock").toString(), 500)) {
                    p1 = start(dirs, dirs.base.resolve("notify.sock"), log1);
                    String ready = awaitNotification(notify, "READY=1", p1, log1);
                    assertTrue(ready.contains("MAINPID=" + p1.pid()), ready);

                    assertEquals(0660, TestDirs.mode(dirs.socket) & 0777);
                    assertEquals(7, client.get("/v1/host").json().get("sandboxes").get("max").asInt(), "HOSTD_LIMITS_MAX_SANDBOXES");
                    assertEquals(List.of(), TestDirs.tcpListeners(p1.pid()), "hostd must not listen on TCP");
                    assertFalse(TestDirs.socketInodes(p1.pid()).isEmpty(), "the check sees the daemon's sockets");

                    assertEquals(201, client.post("/v1/templates", Map.of("id", "proc-tpl", "image", "test-guest", "memoryMiB", 16)).status());
                    for (int i = 0; i < 2; i++) {
                        UdsHttpClient.Response r = client.post("/v1/sandboxes", Map.of("template", "proc-tpl", "tenant", "t1"));
                        assertEquals(201, r.status(), r::toString);
                    }
                    assertEquals(2, client.get("/v1/sandboxes").json().get("sandboxes").size());

                    p1.destroy(); // SIGTERM
                    awaitNotification(notify, "STOPPING=1", p1, log1);
                    assertTrue(p1.waitFor(GUARD_SECONDS, TimeUnit.SECONDS), "hostd exits after SIGTERM");
                }
                String out = Files.readString(log1);
                assertTrue(out.contains("deleted 2 sandbox(es); keeping 1 template(s)"), out);
                assertTrue(Files.isDirectory(dirs.templatesRoot.resolve("templates/proc-tpl")), "template kept in shared memory");
                assertFalse(Files.exists(dirs.socket), "socket removed on exit");

                try (UnixDatagram.Receiver notify = UnixDatagram.Receiver.bind(dirs.base.resolve("notify2.sock").toString(), 500)) {
                    p2 = start(dirs, dirs.base.resolve("notify2.sock"), log2);
                    awaitNotification(notify, "READY=1", p2, log2);
                    JsonNode templates = client.get("/v1/templates").json();
                    assertEquals(1, templates.get("templates").size(), templates::toString);
                    assertEquals("proc-tpl", templates.get("templates").get(0).get("id").asText());
                    assertEquals(0, templates.get("rejected").size());
                    assertEquals(0, client.get("/v1/sandboxes").json().get("sandboxes").size(), "no stale sandboxes after a restart");
                    assertTrue(Files.readString(log2).contains("clone path warmed with 2/2 clone(s) of template proc-tpl"), () -> readQuietly(log2));
                    UdsHttpClient.Response r = client.post("/v1/sandboxes", Map.of("template", "proc-tpl", "tenant", "t1"));
                    assertEquals(201, r.status(), r::toString);
                    assertNotNull(r.json().get("id"));
                    p2.destroy();
                    awaitNotification(notify, "STOPPING=1", p2, log2);
                    assertTrue(p2.waitFor(GUARD_SECONDS, TimeUnit.SECONDS));
                }
            } finally {
                for (Process p : new Process[] {p1, p2}) {
                    if (p != null && p.isAlive()) {
                        p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
                    }
                }
            }
        }
    }

    private static String readQuietly(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return e.toString();
        }
    }
}
