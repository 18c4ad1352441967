package dev.hostd.daemon;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.micronaut.context.ApplicationContext;
import io.micronaut.http.HttpMethod;
import io.micronaut.runtime.server.EmbeddedServer;
import io.micronaut.web.router.Router;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The daemon in this JVM: real Micronaut, real Unix socket in a temp dir, real /dev/kvm, templates
 * in a temp dir under /dev/shm. Every answer is checked against docs/openapi.yaml.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ApiIT {
    private static final Pattern SERVER_TIMING = Pattern.compile("clone;dur=(\\d+\\.\\d{3}), hostd;dur=(\\d+\\.\\d{3})");
    static final int MAX_SANDBOXES = 40;
    static final int MAX_PAYLOAD = 65536;
    static final String TEMPLATE = "it-tpl";

    private TestDirs dirs;
    private ApplicationContext context;
    private UdsHttpClient client;
    private final OpenApi openApi = new OpenApi();

    private Map<String, Object> properties() {
        Map<String, Object> p = dirs.daemonProperties();
        p.put("hostd.limits.max-sandboxes", MAX_SANDBOXES);
        p.put("hostd.limits.max-payload-bytes", MAX_PAYLOAD);
        p.put("hostd.warmup-clones", 2);
        p.put("hostd.shutdown-grace", "2s");
        // Past the 60 s spin of aSlowInvokeBlocksNoOtherSandboxAndDeleteEndsIt: that invoke may end only by the delete,
        // however long the other sandbox's operations take on a loaded host (not by the 30 s default timing out).
        p.put("hostd.invoke-timeout", "5m");
        return p;
    }

    private void start() {
        start(properties());
    }

    private void start(Map<String, Object> properties) {
        context = ApplicationContext.run(EmbeddedServer.class, properties).getApplicationContext();
    }

    @BeforeAll
    void startDaemon() throws Exception {
        dirs = new TestDirs("api");
        client = new UdsHttpClient(dirs.socket);
        start();
    }

    @AfterAll
    void stopDaemon() {
        TestDirs.stopAll(context, client, dirs);
    }

    /** Each test leaves no sandbox behind, even when it fails. */
    @AfterEach
    void noSandboxLeft() {
        if (context != null && context.isRunning() && context.getBean(Engine.class).phase() == Engine.Phase.READY) {
            deleteAllSandboxes();
        }
    }

    /** Sends, checks the answer against the OpenAPI document, and expects {@code status}. */
    private UdsHttpClient.Response expect(int status, UdsHttpClient.Response r) {
        return openApi.expect(status, r);
    }

    private JsonNode problem(int status, String code, UdsHttpClient.Response r) {
        return openApi.problem(status, code, r);
    }

    private JsonNode createSandbox(Map<String, Object> body) {
        UdsHttpClient.Response r = expect(201, client.post("/v1/sandboxes", body));
        JsonNode s = r.json();
        assertEquals("/v1/sandboxes/" + s.get("id").asText(), r.location());
        // Server-Timing splits the daemon's time: the clone (as in the body) within the whole request.
        Matcher timing = SERVER_TIMING.matcher(r.serverTiming());
        assertTrue(timing.matches(), "Server-Timing: " + r.serverTiming());
        double clone = Double.parseDouble(timing.group(1)), total = Double.parseDouble(timing.group(2));
        assertEquals(s.get("cloneMillis").asDouble(), clone, 0.001, "clone;dur is the body's cloneMillis");
        assertTrue(total >= clone, "hostd;dur " + total + " includes clone;dur " + clone);
        return s;
    }

    private JsonNode invoke(String id, String function, byte[] argument) {
        return expect(200, client.post("/v1/sandboxes/" + id + "/invoke",
                Map.of("function", function, "argumentBase64", Base64.getEncoder().encodeToString(argument)))).json();
    }

    private void deleteAllSandboxes() {
        for (JsonNode s : expect(200, client.get("/v1/sandboxes")).json().get("sandboxes")) {
            expect(204, client.delete("/v1/sandboxes/" + s.get("id").asText()));
        }
    }

    @Test
    @Order(10)
    void healthAndReadiness() {
        assertEquals("UP", expect(200, client.get("/v1/health")).json().get("status").asText());
        assertEquals("READY", expect(200, client.get("/v1/ready")).json().get("status").asText());
    }

    @Test
    @Order(20)
    void servesOnlyTheUnixSocketWithMode0660() throws Exception {
        int mode = TestDirs.mode(dirs.socket);
        assertEquals(0140000, mode & 0170000, "the API path is a socket");
        assertEquals(0660, mode & 0777, "socket mode");
        long pid = ProcessHandle.current().pid();
        assertEquals(List.of(), TestDirs.tcpListeners(pid), "hostd must not listen on TCP");
        try (ServerSocket control = new ServerSocket(0)) { // the check does see a TCP listener when there is one
            assertEquals(1, TestDirs.tcpListeners(pid).size());
        }
        EmbeddedServer server = context.getBean(EmbeddedServer.class);
        assertTrue(server.isRunning());
    }

    @Test
    @Order(30)
    void templates() throws Exception {
        UdsHttpClient.Response created = expect(201, client.post("/v1/templates", Map.of("id", TEMPLATE, "image", "test-guest", "memoryMiB", 16)));
        assertEquals("/v1/templates/" + TEMPLATE, created.location());
        JsonNode t = created.json();
        assertEquals(TEMPLATE, t.get("id").asText());
        assertEquals(16, t.get("memoryMiB").asInt());
        assertEquals(64, t.get("guestImageSha256").asText().length());
        assertTrue(Files.isDirectory(Path.of(t.get("directory").asText())));

        JsonNode list = expect(200, client.get("/v1/templates")).json();
        assertEquals(1, list.get("templates").size());
        assertEquals(0, list.get("rejected").size());
        assertEquals(TEMPLATE, expect(200, client.get("/v1/templates/" + TEMPLATE)).json().get("id").asText());
        JsonNode v = expect(200, client.post("/v1/templates/" + TEMPLATE + "/verify")).json();
        assertTrue(v.get("ok").asBoolean(), v::toString);

        problem(409, "conflict", client.post("/v1/templates", Map.of("id", TEMPLATE, "image", "test-guest", "memoryMiB", 16)));
        problem(400, "invalid-input", client.post("/v1/templates", Map.of("id", "Bad Id", "image", "test-guest")));
        problem(400, "invalid-input", client.post("/v1/templates", Map.of("id", "odd", "image", "test-guest", "memoryMiB", 7)));
        problem(400, "invalid-input", client.post("/v1/templates", Map.of("id", "rel", "image", "guest.elf")));
        problem(400, "invalid-input", client.post("/v1/templates", Map.of("id", "missing", "image", "/nonexistent/guest.elf")));
        problem(400, "invalid-input", client.post("/v1/templates", Map.of("id", "noimage")));
        problem(404, "not-found", client.get("/v1/templates/nope"));
        problem(404, "not-found", client.post("/v1/templates/nope/verify"));
        problem(404, "not-found", client.delete("/v1/templates/nope"));

        // a second template, from a guest ELF on disk, deleted again
        // Only files under hostd.templates.image-dir (default <state-dir>/images) may be read.
        Path outside = Files.write(dirs.base.resolve("guest.elf"), dev.hostd.guest.TestGuestImage.bytes());
        JsonNode refused = problem(400, "invalid-input", client.post("/v1/templates", Map.of("id", "outside", "image", outside.toString(), "memoryMiB", 16)));
        assertTrue(refused.path("detail").asText().contains("hostd.templates.image-dir"), refused.toString());
        Path elf = Files.write(dirs.state.resolve("images").resolve("guest.elf"), dev.hostd.guest.TestGuestImage.bytes());
        JsonNode fromFile = expect(201, client.post("/v1/templates", Map.of("id", "it-gone", "image", elf.toString(), "memoryMiB", 16))).json();
        assertEquals(t.get("guestImageSha256").asText(), fromFile.get("guestImageSha256").asText());
        expect(204, client.delete("/v1/templates/it-gone"));
        assertFalse(Files.exists(dirs.templatesRoot.resolve("templates/it-gone")));
        problem(404, "not-found", client.get("/v1/templates/it-gone"));
    }

    @Test
    @Order(40)
    void concurrentCreatesInvokesAndDeletesFromEightClients() throws Exception {
        int threads = 8, perThread = 3;
        CyclicBarrier barrier = new CyclicBarrier(threads);
        List<JsonNode> created = new CopyOnWriteArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                String tenant = "tenant-" + (t % 4);
                futures.add(pool.submit(() -> {
                    barrier.await();
                    for (int i = 0; i < perThread; i++) {
                        created.add(createSandbox(Map.of("template", TEMPLATE, "tenant", tenant)));
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                f.get(5, TimeUnit.MINUTES);
            }
            assertEquals(threads * perThread, created.size());
            Set<String> ids = new HashSet<>(), macs = new HashSet<>(), tenantIps = new HashSet<>();
            for (JsonNode s : created) {
                assertEquals("RUNNING", s.get("state").asText());
                assertTrue(ids.add(s.get("id").asText()), "unique id");
                assertTrue(macs.add(s.get("mac").asText()), "unique MAC");
                assertTrue(tenantIps.add(s.get("tenant").asText() + "/" + s.get("ipv4").asText()), "unique IPv4 per tenant");
                assertEquals(s.get("id").asText(), s.get("hostname").asText());
                assertEquals("198.18.0.1", s.get("gateway").asText());
                assertEquals(15, s.get("prefixLength").asInt());
                int first = Integer.parseInt(s.get("mac").asText().substring(0, 2), 16);
                assertEquals(2, first & 3, "locally administered unicast MAC");
            }
            assertEquals(threads * perThread, expect(200, client.get("/v1/sandboxes")).json().get("sandboxes").size());
            assertEquals(threads * perThread / 4, expect(200, client.get("/v1/sandboxes?tenant=tenant-1")).json().get("sandboxes").size());
            assertEquals(threads * perThread, expect(200, client.get("/v1/sandboxes?template=" + TEMPLATE + "&state=RUNNING")).json().get("sandboxes").size());

            futures.clear();
            for (JsonNode s : created) {
                futures.add(pool.submit(() -> {
                    String id = s.get("id").asText();
                    byte[] payload = new byte[1000 + new Random().nextInt(3000)];
                    new Random().nextBytes(payload);
                    JsonNode echo = invoke(id, "echo", payload);
                    assertEquals(0, echo.get("status").asInt());
                    assertEquals("OK", echo.get("statusName").asText());
                    assertArrayEquals(payload, Base64.getDecoder().decode(echo.get("outputBase64").asText()));
                    JsonNode sha = invoke(id, "sha256", payload);
                    assertArrayEquals(MessageDigest.getInstance("SHA-256").digest(payload), Base64.getDecoder().decode(sha.get("outputBase64").asText()));
                    expect(204, client.delete("/v1/sandboxes/" + id));
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                f.get(5, TimeUnit.MINUTES);
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(0, expect(200, client.get("/v1/sandboxes")).json().get("sandboxes").size());
    }

    @Test
    @Order(50)
    void explicitIdentityPauseResumeConsoleDelete() {
        JsonNode s = createSandbox(Map.of("id", "sbx-explicit", "template", TEMPLATE, "tenant", "acme", "mac", "02:aa:bb:cc:dd:01",
                "ipv4", "10.1.2.3", "prefixLength", 24, "gateway", "10.1.2.1", "hostname", "web-1.acme"));
        assertEquals("sbx-explicit", s.get("id").asText());
        assertEquals("02:aa:bb:cc:dd:01", s.get("mac").asText());
        assertEquals("10.1.2.3", s.get("ipv4").asText());
        assertEquals(24, s.get("prefixLength").asInt());
        assertEquals("10.1.2.1", s.get("gateway").asText());
        assertEquals("web-1.acme", s.get("hostname").asText());
        assertTrue(s.get("agent").get("generation").asLong() > 1);

        assertEquals("PAUSED", expect(200, client.post("/v1/sandboxes/sbx-explicit/pause")).json().get("state").asText());
        assertEquals("PAUSED", expect(200, client.post("/v1/sandboxes/sbx-explicit/pause")).json().get("state").asText());
        assertEquals("PAUSED", expect(200, client.get("/v1/sandboxes/sbx-explicit")).json().get("state").asText());
        assertEquals(1, expect(200, client.get("/v1/sandboxes?state=PAUSED")).json().get("sandboxes").size());
        problem(409, "conflict", client.post("/v1/sandboxes/sbx-explicit/invoke", Map.of("function", "echo")));
        assertEquals("RUNNING", expect(200, client.post("/v1/sandboxes/sbx-explicit/resume")).json().get("state").asText());
        assertEquals("RUNNING", expect(200, client.post("/v1/sandboxes/sbx-explicit/resume")).json().get("state").asText());
        assertArrayEquals(new byte[] {7, 8, 9}, Base64.getDecoder().decode(invoke("sbx-explicit", "echo", new byte[] {7, 8, 9}).get("outputBase64").asText()));
        JsonNode unknown = invoke("sbx-explicit", "no-such-function", new byte[0]);
        assertEquals("UNKNOWN_FUNCTION", unknown.get("statusName").asText());

        UdsHttpClient.Response console = expect(200, client.get("/v1/sandboxes/sbx-explicit/console"));
        assertTrue(console.contentType().startsWith("text/plain"), console::toString);

        expect(204, client.delete("/v1/sandboxes/sbx-explicit"));
        problem(404, "not-found", client.delete("/v1/sandboxes/sbx-explicit"));
        problem(404, "not-found", client.get("/v1/sandboxes/sbx-explicit"));
        problem(404, "not-found", client.post("/v1/sandboxes/sbx-explicit/pause"));
        problem(404, "not-found", client.get("/v1/sandboxes/sbx-explicit/console"));
    }

    @Test
    @Order(55)
    void aSlowInvokeBlocksNoOtherSandboxAndDeleteEndsIt() throws Exception {
        String slow = createSandbox(Map.of("template", TEMPLATE, "tenant", "acme")).get("id").asText();
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            // the guest spins for up to 60 s: the test never waits for that, it deletes the sandbox instead
            Future<UdsHttpClient.Response> spinning = pool.submit(() -> client.post("/v1/sandboxes/" + slow + "/invoke",
                    Map.of("function", "spin", "argumentBase64", Base64.getEncoder().encodeToString(new byte[] {(byte) 0x60, (byte) 0xea, 0, 0}))));
            JsonNode other = createSandbox(Map.of("template", TEMPLATE, "tenant", "acme"));
            String id = other.get("id").asText();
            assertArrayEquals(new byte[] {5}, Base64.getDecoder().decode(invoke(id, "echo", new byte[] {5}).get("outputBase64").asText()));
            assertEquals("PAUSED", expect(200, client.post("/v1/sandboxes/" + id + "/pause")).json().get("state").asText());
            expect(204, client.delete("/v1/sandboxes/" + id));
            assertFalse(spinning.isDone(), "the other sandbox's operations did not wait for the spinning one");
            assertEquals("RUNNING", expect(200, client.get("/v1/sandboxes/" + slow)).json().get("state").asText());
            expect(204, client.delete("/v1/sandboxes/" + slow));
            UdsHttpClient.Response ended = spinning.get(2, TimeUnit.MINUTES);
            problem(502, "guest-failure", ended);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    @Order(60)
    void badInputsAreProblemsWithStableCodes() {
        Map<String, Object> base = Map.of("template", TEMPLATE, "tenant", "acme");
        List<Map<String, Object>> invalid = List.of(
                with(base, "mac", "zz:00:00:00:00:01"), with(base, "mac", "03:00:00:00:00:01"), with(base, "mac", "02:00:00:00:01"),
                with(base, "ipv4", "300.1.1.1"), with(base, "ipv4", "1.2.3"), with(base, "ipv4", "example.com"),
                with(base, "gateway", "1.2.3.4.5"), with(base, "prefixLength", 33), with(base, "prefixLength", 0),
                with(base, "hostname", "-bad-"), with(base, "hostname", "a".repeat(64)), with(base, "hostname", "under_score"),
                with(base, "tenant", "bad tenant"), with(base, "tenant", ""), with(base, "id", "x".repeat(64)), with(base, "id", "../etc"),
                with(base, "template", "Bad Template"), with(base, "unknownMember", 1), with(base, "prefixLength", "fifteen"),
                Map.of("template", TEMPLATE), Map.of("tenant", "acme"));
        for (Map<String, Object> body : invalid) {
            JsonNode p = problem(400, "invalid-input", client.post("/v1/sandboxes", body));
            assertFalse(p.get("detail").asText().isBlank(), p::toString);
        }
        JsonNode unknownMember = problem(400, "invalid-input", client.post("/v1/sandboxes", with(base, "colour", "blue")));
        assertTrue(unknownMember.get("detail").asText().startsWith("Unknown property [colour]"), unknownMember::toString);
        problem(400, "invalid-input", client.post("/v1/sandboxes", "{\"template\":"));
        problem(400, "invalid-input", client.post("/v1/sandboxes"));
        problem(415, "unsupported-media-type", client.send("POST", "/v1/sandboxes", "text/plain", "template=x".getBytes()));
        problem(404, "not-found", client.post("/v1/sandboxes", with(base, "template", "no-such-template")));
        problem(404, "not-found", client.get("/v1/no/such/path"));
        problem(405, "method-not-allowed", client.send("PUT", "/v1/host", null, null));
        problem(400, "invalid-input", client.get("/v1/sandboxes?state=SLEEPING"));

        // identities stay unique among live sandboxes
        JsonNode s = createSandbox(Map.of("id", "sbx-unique", "template", TEMPLATE, "tenant", "acme", "mac", "02:00:00:00:00:42", "ipv4", "198.18.9.9"));
        problem(409, "conflict", client.post("/v1/sandboxes", Map.of("id", "sbx-unique", "template", TEMPLATE, "tenant", "other")));
        problem(409, "conflict", client.post("/v1/sandboxes", Map.of("template", TEMPLATE, "tenant", "other", "mac", "02:00:00:00:00:42")));
        problem(409, "conflict", client.post("/v1/sandboxes", Map.of("template", TEMPLATE, "tenant", "acme", "ipv4", "198.18.9.9")));
        createSandbox(Map.of("template", TEMPLATE, "tenant", "other", "ipv4", "198.18.9.9")); // same address, other tenant
        String id = s.get("id").asText();
        problem(400, "invalid-input", client.post("/v1/sandboxes/" + id + "/invoke", Map.of("function", "bad name!")));
        problem(400, "invalid-input", client.post("/v1/sandboxes/" + id + "/invoke", Map.of("argumentBase64", "AA==")));
        problem(400, "invalid-input", client.post("/v1/sandboxes/" + id + "/invoke", Map.of("function", "echo", "argumentBase64", "%%%")));
        problem(400, "invalid-input", client.post("/v1/sandboxes/" + id + "/invoke", Map.of("function", "echo", "extra", true)));
        problem(404, "not-found", client.post("/v1/sandboxes/nope/invoke", Map.of("function", "echo")));
        deleteAllSandboxes();
    }

    private static Map<String, Object> with(Map<String, Object> base, String key, Object value) {
        Map<String, Object> m = new HashMap<>(base);
        m.put(key, value);
        return m;
    }

    /** Resources without cgroups (this daemon has hostd.cgroups.enabled=false; CgroupsIT covers them on). */
    @Test
    @Order(65)
    void resourcesAreReportedAndLimitsAreRefusedWithoutCgroups() {
        JsonNode created = createSandbox(Map.of("id", "sbx-res", "template", TEMPLATE, "tenant", "acme"));
        JsonNode r = created.get("resources");
        assertEquals(16L << 20, r.get("memoryLimitBytes").asLong(), "guest RAM is the bound");
        assertTrue(r.get("privateMemoryBytes").isNull(), "the create answer walks no page map: " + r);
        assertTrue(r.get("cpuUsageNanos").isNull() && r.get("cgroup").isNull() && r.get("limits").isNull(), "cgroups are off: " + r);

        long before = expect(200, client.get("/v1/sandboxes/sbx-res")).json().get("resources").get("privateMemoryBytes").asLong();
        assertTrue(before > 0, "a running guest has written pages of its own: " + before);
        byte[] twoMiB = java.nio.ByteBuffer.allocate(4).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(2).array();
        JsonNode touched = invoke("sbx-res", "touch", twoMiB);
        assertEquals("OK", touched.get("statusName").asText(), touched::toString);
        long after = expect(200, client.get("/v1/sandboxes/sbx-res")).json().get("resources").get("privateMemoryBytes").asLong();
        assertTrue(after >= before + (2L << 20), "touching 2 MiB adds 2 MiB of private pages: " + before + " -> " + after);
        assertTrue(after <= 16L << 20, "never more than guest RAM: " + after);

        JsonNode listed = expect(200, client.get("/v1/sandboxes")).json().get("sandboxes").get(0).get("resources");
        assertTrue(listed.get("privateMemoryBytes").isNull(), "lists walk no page map: " + listed);
        assertEquals(16L << 20, listed.get("memoryLimitBytes").asLong());

        Map<String, Double> samples = metrics();
        assertTrue(samples.get("hostd_sandboxes_private_memory_bytes") >= after, samples::toString);
        assertEquals(16.0 * (1 << 20), samples.get("hostd_sandboxes_memory_limit_bytes"));

        // Limits: out of range is refused naming the member and its range, whether or not cgroups are on ...
        Map<String, Object> base = Map.of("template", TEMPLATE, "tenant", "acme");
        for (Map<String, Object> limits : List.of(Map.<String, Object>of("cpuPercent", 0), Map.<String, Object>of("cpuPercent", 101),
                Map.<String, Object>of("cpuWeight", 0), Map.<String, Object>of("cpuWeight", 10001))) {
            String member = limits.keySet().iterator().next();
            JsonNode p = problem(400, "invalid-input", client.post("/v1/sandboxes", with(base, "limits", limits)));
            assertTrue(p.get("detail").asText().startsWith("limits." + member + " must be 1.." + (member.equals("cpuPercent") ? "100" : "10000")), p::toString);
        }
        problem(400, "invalid-input", client.post("/v1/sandboxes", with(base, "limits", Map.of("cpuPercent", "half"))));
        JsonNode unknown = problem(400, "invalid-input", client.post("/v1/sandboxes", with(base, "limits", Map.of("cpuShares", 5))));
        assertTrue(unknown.get("detail").asText().contains("cpuShares"), unknown::toString);
        // ... and valid limits are refused while nothing would enforce them.
        JsonNode off = problem(400, "invalid-input", client.post("/v1/sandboxes", with(base, "limits", Map.of("cpuPercent", 20))));
        assertEquals("hostd.cgroups.enabled", off.get("limit").asText(), off::toString);
        assertEquals(1, expect(200, client.get("/v1/sandboxes")).json().get("sandboxes").size(), "no refused request left a sandbox");
    }

    private Map<String, Double> metrics() {
        UdsHttpClient.Response m = expect(200, client.get("/metrics"));
        Map<String, Double> samples = new HashMap<>();
        for (String line : m.text().split("\n")) {
            if (!line.startsWith("#") && !line.isBlank()) {
                int sp = line.lastIndexOf(' ');
                samples.put(line.substring(0, sp), Double.parseDouble(line.substring(sp + 1)));
            }
        }
        return samples;
    }

    @Test
    @Order(70)
    void payloadLimitIs413NamingTheSetting() {
        String id = createSandbox(Map.of("template", TEMPLATE, "tenant", "acme")).get("id").asText();
        byte[] max = new byte[MAX_PAYLOAD];
        new Random(1).nextBytes(max);
        JsonNode ok = invoke(id, "sha256", max);
        assertEquals("OK", ok.get("statusName").asText(), ok::toString);

        JsonNode p = problem(413, "payload-too-large", client.post("/v1/sandboxes/" + id + "/invoke",
                Map.of("function", "echo", "argumentBase64", Base64.getEncoder().encodeToString(new byte[MAX_PAYLOAD + 1]))));
        assertEquals(HostdConfig.MAX_PAYLOAD_KEY, p.get("limit").asText());
        assertTrue(p.get("detail").asText().contains(HostdConfig.MAX_PAYLOAD_KEY), p::toString);

        // a body larger than any allowed invoke never reaches the route
        JsonNode big = problem(413, "payload-too-large", client.post("/v1/sandboxes/" + id + "/invoke",
                Map.of("function", "echo", "argumentBase64", Base64.getEncoder().encodeToString(new byte[4 * MAX_PAYLOAD]))));
        assertEquals(HostdConfig.MAX_PAYLOAD_KEY, big.get("limit").asText());
        assertTrue(big.get("detail").asText().contains(HostdConfig.MAX_PAYLOAD_KEY), big::toString);
        deleteAllSandboxes();
    }

    @Test
    @Order(80)
    void sandboxLimitIs429NamingTheSetting() {
        for (int i = 0; i < MAX_SANDBOXES; i++) {
            createSandbox(Map.of("template", TEMPLATE, "tenant", "limit"));
        }
        JsonNode p = problem(429, "limit-exceeded", client.post("/v1/sandboxes", Map.of("template", TEMPLATE, "tenant", "limit")));
        assertEquals(HostdConfig.MAX_SANDBOXES_KEY, p.get("limit").asText());
        assertTrue(p.get("detail").asText().contains(HostdConfig.MAX_SANDBOXES_KEY), p::toString);
        JsonNode host = expect(200, client.get("/v1/host")).json();
        assertEquals(MAX_SANDBOXES, host.get("sandboxes").get("live").asInt());
        assertEquals(MAX_SANDBOXES, host.get("sandboxes").get("max").asInt());
        deleteAllSandboxes();
        createSandbox(Map.of("template", TEMPLATE, "tenant", "limit")); // room again
        deleteAllSandboxes();
    }

    @Test
    @Order(90)
    void hostAndMetrics() {
        JsonNode host = expect(200, client.get("/v1/host")).json();
        assertEquals("/dev/kvm", host.get("kvm").get("device").asText());
        assertEquals(12, host.get("kvm").get("apiVersion").asInt());
        assertEquals(1, host.get("templates").asInt());
        assertEquals(16L << 20, host.get("memory").get("templateBytes").asLong());
        assertTrue(host.get("memory").get("processRssBytes").asLong() > 0);
        assertTrue(host.get("memory").get("memAvailableBytes").asLong() > 0);

        UdsHttpClient.Response m = expect(200, client.get("/metrics"));
        assertTrue(m.contentType().startsWith("text/plain; version=0.0.4"), m::toString);
        Map<String, Double> samples = new HashMap<>();
        for (String line : m.text().split("\n")) {
            if (!line.startsWith("#") && !line.isBlank()) {
                int sp = line.lastIndexOf(' ');
                samples.put(line.substring(0, sp), Double.parseDouble(line.substring(sp + 1)));
            }
        }
        assertTrue(samples.get("hostd_clone_seconds_count") >= 3 * 8 + MAX_SANDBOXES, samples::toString);
        assertEquals(samples.get("hostd_clone_seconds_count"), samples.get("hostd_clone_seconds_bucket{le=\"+Inf\"}"));
        assertTrue(samples.get("hostd_invoke_seconds_count") >= 48);
        assertEquals(0.0, samples.get("hostd_sandboxes_live"));
        assertEquals(0.0, samples.get("hostd_sandboxes_private_memory_bytes"));
        assertEquals(0.0, samples.get("hostd_sandboxes_memory_limit_bytes"));
        assertEquals(16.0 * (1 << 20), samples.get("hostd_template_memory_bytes{template=\"" + TEMPLATE + "\"}"));
        assertTrue(samples.get("hostd_failures_total{cause=\"limit-exceeded\"}") >= 1);
        assertTrue(samples.get("hostd_failures_total{cause=\"invalid-input\"}") >= 20);
        assertEquals(1.0, samples.get("hostd_ready"));
    }

    @Test
    @Order(100)
    void everyRouteIsDocumentedAndEveryDocumentedOperationIsServed() {
        Set<String> served = new TreeSet<>();
        context.getBean(Router.class).uriRoutes()
                .filter(r -> r.getHttpMethod() != HttpMethod.HEAD && r.getHttpMethod() != HttpMethod.OPTIONS)
                .forEach(r -> served.add(r.getHttpMethodName() + " " + r.getUriMatchTemplate().toPathString().replaceAll("\\{\\?[^}]*}", "")));
        assertEquals(openApi.operations(), served);
    }

    @Test
    @Order(110)
    void shutdownRefusesWorkDeletesSandboxesKeepsTemplatesAndARestartAdoptsThem() throws Exception {
        createSandbox(Map.of("template", TEMPLATE, "tenant", "acme"));
        createSandbox(Map.of("template", TEMPLATE, "tenant", "acme"));
        Engine engine = context.getBean(Engine.class);
        assertEquals(2, engine.liveCount());
        engine.shutdownGracefully(); // the first step of SIGTERM: no new work
        problem(503, "unavailable", client.get("/v1/ready"));
        problem(503, "unavailable", client.post("/v1/sandboxes", Map.of("template", TEMPLATE, "tenant", "acme")));
        context.close();
        assertEquals(Engine.Phase.STOPPED, engine.phase());
        assertEquals(0, engine.liveCount(), "sandboxes deleted on shutdown");
        assertTrue(Files.isDirectory(dirs.templatesRoot.resolve("templates").resolve(TEMPLATE)), "templates kept");
        assertFalse(Files.exists(dirs.socket), "socket removed");

        // a directory that is not a valid template is listed as rejected, never adopted
        Path broken = Files.createDirectories(dirs.templatesRoot.resolve("templates/broken"));
        Files.write(broken.resolve("state"), new byte[] {1, 2, 3});
        start();
        assertEquals("READY", expect(200, client.get("/v1/ready")).json().get("status").asText());
        JsonNode list = expect(200, client.get("/v1/templates")).json();
        assertEquals(1, list.get("templates").size());
        assertEquals(TEMPLATE, list.get("templates").get(0).get("id").asText());
        assertEquals(1, list.get("rejected").size());
        assertEquals("broken", list.get("rejected").get(0).get("id").asText());
        assertFalse(list.get("rejected").get(0).get("reason").asText().isBlank());
        assertEquals(0, expect(200, client.get("/v1/sandboxes")).json().get("sandboxes").size());
        JsonNode s = createSandbox(Map.of("template", TEMPLATE, "tenant", "acme"));
        assertNotNull(s.get("id"));
        assertArrayEquals(new byte[] {42}, Base64.getDecoder().decode(invoke(s.get("id").asText(), "echo", new byte[] {42}).get("outputBase64").asText()));
        deleteAllSandboxes();
    }

    @Test
    @Order(120)
    void aCloneThatFailsAfterItStartedIsAProblemAndReleasesItsIdAddressAndSlot() {
        context.close();
        // A 1 ns wait for HELLO: the create's answer comes from the clone's failure, after the request
        // thread has returned. A guest can still answer first, so try a few times.
        Map<String, Object> impatient = properties();
        impatient.put("hostd.ready-timeout", Duration.ofNanos(1));
        impatient.put("hostd.warmup-clones", 0);
        start(impatient);
        // The same id and address in every attempt: a 409 would mean a failed create kept them.
        Map<String, Object> body = Map.of("id", "late", "template", TEMPLATE, "tenant", "acme", "ipv4", "198.18.7.7");
        JsonNode timedOut = null;
        for (int attempt = 0; attempt < 20 && timedOut == null; attempt++) {
            UdsHttpClient.Response r = client.post("/v1/sandboxes", body);
            if (r.status() == 201) {
                expect(204, client.delete("/v1/sandboxes/late"));
            } else {
                timedOut = problem(504, "timeout", r);
            }
            assertEquals(0, expect(200, client.get("/v1/host")).json().get("sandboxes").get("live").asInt(), "after attempt " + attempt);
        }
        assertNotNull(timedOut, "no create with a 1 ns HELLO wait failed in 20 attempts");
        assertTrue(timedOut.get("detail").asText().contains("cloning sandbox late"), timedOut.toString());
        assertEquals(0, context.getBean(Engine.class).liveCount());
        context.close();
        start(); // the ordinary timeout again: the same id, address and limit slot are free
        createSandbox(body);
        deleteAllSandboxes();
    }
}
