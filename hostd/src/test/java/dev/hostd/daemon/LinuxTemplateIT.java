package dev.hostd.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.hostd.vmm.kvm.HardwareVirtualization;
import dev.hostd.vmm.loader.linux.GuestKernelCache;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A Linux template end to end through the daemon's API, as a scheduler uses it: Debian's kernel
 * with the project's initramfs is built into a template (boot to the agent's HELLO, snapshot),
 * two sandboxes are cloned from it with different identities, each reports its own identity and
 * answers an invocation, is paused, resumed and deleted, then the template is deleted. Needs
 * hardware virtualization: on a PVM host (no vmx/svm) the kernel would take hours to reach its
 * agent, so this is skipped there with that reason (LinuxTemplateApiIT covers the refusal).
 */
class LinuxTemplateIT {
    /** Generous: a guard against hangs, not a time assertion. */
    static final String READY_TIMEOUT = "120s";

    @BeforeAll
    static void needsHardwareVirtualization() {
        Optional<String> missing = HardwareVirtualization.missing();
        assumeTrue(missing.isEmpty(), () -> "no vmx/svm in /proc/cpuinfo: " + missing.orElseThrow()
                + "; LinuxTemplateApiIT checks the refusal here");
    }

    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES) // hang guard only
    void aLinuxTemplateIsBuiltAndClonedTwiceWithDifferentIdentitiesThroughTheApi() throws Exception {
        try (TestDirs dirs = new TestDirs("linux-e2e")) {
            Path images = Files.createDirectories(dirs.state.resolve("images"));
            Path cached = GuestKernelCache.vmlinuz(GuestKernelCache.directory())
                    .orElseGet(() -> fail("no boot/vmlinuz-* under " + GuestKernelCache.directory() + "; " + GuestKernelCache.HOW_TO_FETCH));
            Files.copy(cached, images.resolve("vmlinuz"));
            Path built = Path.of(System.getProperty("user.dir")).resolveSibling("guest").resolve("target/linux-guest/initramfs.cpio");
            if (!Files.isRegularFile(built)) {
                fail("no initramfs at " + built + "; build the guest module (scripts/setup installs what it needs)");
            }
            Files.copy(built, images.resolve("initramfs.cpio"));
            Map<String, Object> p = dirs.daemonProperties();
            p.put("hostd.warmup-clones", 0);
            p.put("hostd.ready-timeout", READY_TIMEOUT);
            p.put("hostd.invoke-timeout", READY_TIMEOUT);
            OpenApi openApi = new OpenApi();
            try (ApplicationContext context = ApplicationContext.run(EmbeddedServer.class, p).getApplicationContext();
                 UdsHttpClient client = new UdsHttpClient(dirs.socket)) {
                UdsHttpClient.Response created = client.post("/v1/templates", Map.of("id", "debian", "guest", "linux",
                        "kernel", "vmlinuz", "initramfs", "initramfs.cpio", "memoryMiB", 256, "vcpus", 2));
                assertEquals(201, created.status(), created::toString);
                openApi.validate(created);
                JsonNode t = created.json();
                assertEquals("linux", t.get("guest").asText());
                assertEquals(2, t.get("vcpus").asInt());
                assertEquals(256, t.get("memoryMiB").asInt());
                UdsHttpClient.Response verified = client.post("/v1/templates/debian/verify");
                assertTrue(verified.json().get("ok").asBoolean(), verified::toString);

                JsonNode a = sandbox(client, openApi, Map.of("id", "lx-a", "template", "debian", "tenant", "acme",
                        "mac", "02:00:00:00:0a:01", "ipv4", "198.18.10.1", "hostname", "lx-a"));
                JsonNode b = sandbox(client, openApi, Map.of("id", "lx-b", "template", "debian", "tenant", "acme",
                        "mac", "02:00:00:00:0a:02", "ipv4", "198.18.10.2", "hostname", "lx-b"));
                for (JsonNode s : new JsonNode[] {a, b}) {
                    assertEquals("RUNNING", s.get("state").asText());
                    assertEquals(2, s.get("agent").get("generation").asLong(), "the clone's identity is the template's next generation");
                }
                assertNotEquals(a.get("mac").asText(), b.get("mac").asText());
                for (String id : new String[] {"lx-a", "lx-b"}) {
                    UdsHttpClient.Response r = client.post("/v1/sandboxes/" + id + "/invoke", Map.of("function", "echo",
                            "argumentBase64", Base64.getEncoder().encodeToString(("hello " + id).getBytes(StandardCharsets.US_ASCII))));
                    assertEquals(200, r.status(), r::toString);
                    openApi.validate(r);
                    assertEquals("hello " + id, new String(Base64.getDecoder().decode(r.json().get("outputBase64").asText()), StandardCharsets.US_ASCII));
                }
                assertEquals("PAUSED", client.post("/v1/sandboxes/lx-a/pause").json().get("state").asText());
                assertEquals("RUNNING", client.post("/v1/sandboxes/lx-a/resume").json().get("state").asText());
                assertTrue(client.get("/v1/sandboxes/lx-b/console").body().length > 0, "the Linux console log is served");
                assertEquals(204, client.delete("/v1/sandboxes/lx-a").status());
                assertEquals(204, client.delete("/v1/sandboxes/lx-b").status());
                assertEquals(0, client.get("/v1/sandboxes").json().get("sandboxes").size());
                assertEquals(204, client.delete("/v1/templates/debian").status());
                assertFalse(Files.exists(dirs.templatesRoot.resolve("templates/debian")));
            }
        }
    }

    private static JsonNode sandbox(UdsHttpClient client, OpenApi openApi, Map<String, Object> body) {
        UdsHttpClient.Response r = client.post("/v1/sandboxes", body);
        assertEquals(201, r.status(), r::toString);
        openApi.validate(r);
        JsonNode s = r.json();
        assertEquals(body.get("mac"), s.get("mac").asText());
        assertEquals(body.get("ipv4"), s.get("ipv4").asText());
        assertEquals(body.get("hostname"), s.get("hostname").asText());
        return s;
    }
}
