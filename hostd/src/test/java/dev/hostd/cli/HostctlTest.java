package dev.hostd.cli;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * hostctl against a real HTTP server on a Unix socket ({@link FakeDaemon}) serving canned API
 * answers: what each command sends, what it prints (tables and --json), and its exit code.
 */
class HostctlTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static final String HOST = """
            {"version":"0.1.0","kvm":{"device":"/dev/kvm","apiVersion":12},"sandboxes":{"live":3,"max":2500},
             "templates":2,"memory":{"memAvailableBytes":10737418240,"templateBytes":134217728,
             "processRssBytes":536870912},"uptimeSeconds":3725}""";
    static final String TEMPLATE = """
            {"id":"fn-py","memoryMiB":64,"createdAt":"2025-01-01T00:00:00Z",
             "guestImageSha256":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
             "directory":"/dev/shm/hostd/templates/fn-py","formatVersion":"1.0"}""";
    static final String SANDBOX_A = """
            {"id":"sbx-a","template":"fn-py","tenant":"t1","state":"RUNNING","mac":"02:00:00:00:00:01",
             "ipv4":"198.18.0.10","prefixLength":15,"gateway":"198.18.0.1","hostname":"sbx-a",
             "createdAt":"2025-01-01T00:00:00Z","cloneMillis":3.25,
             "agent":{"generation":2,"identitiesSeen":1,"agentVersion":"test-1"},
             "resources":{"memoryLimitBytes":67108864,"privateMemoryBytes":36864,"cpuUsageNanos":1234000000,
                          "cgroup":"/hostd-sandboxes/g3","limits":{"cpuPercent":20,"cpuWeight":100}}}""";
    static final String SANDBOX_B = """
            {"id":"sbx-bbbbbbbbbbbb","template":"fn-node","tenant":"tenant-two","state":"PAUSED",
             "mac":"02:00:00:00:00:02","ipv4":"198.18.0.11","prefixLength":15,"gateway":"198.18.0.1",
             "hostname":"b","createdAt":"2025-01-01T00:00:01Z","cloneMillis":12.5,
             "agent":{"generation":7,"identitiesSeen":1,"agentVersion":"test-1"},
             "resources":{"memoryLimitBytes":134217728,"privateMemoryBytes":null,"cpuUsageNanos":null,"cgroup":null,"limits":null}}""";

    @TempDir
    Path dir;
    FakeDaemon daemon;

    record Result(int exit, String out, String err) {
        JsonNode json() throws IOException {
            return JSON.readTree(out);
        }
    }

    @BeforeEach
    void start() throws Exception {
        daemon = new FakeDaemon(dir.resolve("hostd.sock"));
    }

    @AfterEach
    void stop() throws IOException {
        daemon.close();
    }

    Result hostctl(String... args) {
        List<String> all = new ArrayList<>(List.of("--socket", daemon.socket().toString(), "--timeout", "60")); // a hang guard: a loaded host may be slow to answer
        all.addAll(List.of(args));
        return hostctlRaw(all.toArray(String[]::new));
    }

    static Result hostctlRaw(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = Hostctl.run(args, out, err);
        return new Result(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static void assertExit(int expected, Result r) {
        assertEquals(expected, r.exit(), () -> "exit code; stdout:\n" + r.out() + "\nstderr:\n" + r.err());
    }

    // ---- help and usage ----

    @Test
    void helpListsEveryCommandAndEveryExitCode() {
        Result r = hostctlRaw("--help");
        assertExit(0, r);
        for (String c : List.of("host", "health", "ready", "metrics", "template", "sandbox", "top")) {
            assertTrue(r.out().contains("\n  " + c + " "), () -> c + " in\n" + r.out());
        }
        for (int code = 0; code <= 7; code++) {
            assertTrue(r.out().matches("(?s).*\n  " + code + " +\\S.*"), "exit code " + code + " documented");
        }
        Result t = hostctlRaw("template", "--help");
        for (String c : List.of("list", "create", "get", "verify", "delete", "inspect")) {
            assertTrue(t.out().contains("\n  " + c + " "), () -> c + " in\n" + t.out());
        }
        Result s = hostctlRaw("sandbox", "--help");
        for (String c : List.of("list", "create", "get", "delete", "invoke", "pause", "resume", "console")) {
            assertTrue(s.out().contains("\n  " + c + " "), () -> c + " in\n" + s.out());
        }
    }

    @Test
    void usageErrorsAreExit1WithoutTouchingTheDaemon() {
        assertAll(
                () -> assertExit(1, hostctl("--bogus")),
                () -> assertExit(1, hostctl()),
                () -> assertExit(1, hostctl("template")),
                () -> assertExit(1, hostctl("frobnicate")),
                () -> assertExit(1, hostctl("sandbox", "create")), // --template is required
                () -> assertExit(1, hostctl("template", "get")), // ID is required
                () -> assertExit(1, hostctl("sandbox", "invoke", "sbx-a", "echo", "--arg-base64", "!!!")),
                () -> assertExit(1, hostctl("sandbox", "invoke", "sbx-a", "echo", "-a", "x", "--arg-base64", "eA==")),
                () -> assertExit(1, hostctl("top", "--sort", "nonsense")));
        assertTrue(hostctl("--bogus").err().contains("Unknown option: '--bogus'"));
        assertTrue(daemon.received.isEmpty(), "no request for a usage error: " + daemon.received);
    }

    // ---- host, health, ready, metrics ----

    @Test
    void hostPrintsAlignedKeyValuesAndJson() throws IOException {
        daemon.json("GET", "/v1/host", 200, HOST);
        Result r = hostctl("host");
        assertExit(0, r);
        assertTrue(r.out().contains("sandboxes:         3 live of 2500"), r.out());
        assertTrue(r.out().contains("kvm:               /dev/kvm (API 12)"), r.out());
        assertTrue(r.out().contains("memory available:  10.0 GiB"), r.out());
        assertTrue(r.out().contains("uptime:            1h02m"), r.out());
        assertEquals("", r.err());

        Result j = hostctl("host", "--json");
        assertExit(0, j);
        assertEquals(JSON.readTree(HOST), j.json());
        assertEquals(JSON.readTree(HOST), hostctl("--json", "host").json(), "--json before the command too");
        assertEquals("GET", daemon.last().method());
        assertEquals("/v1/host", daemon.last().uri());
    }

    @Test
    void healthAndReady() throws IOException {
        daemon.json("GET", "/v1/health", 200, "{\"status\":\"UP\"}");
        daemon.json("GET", "/v1/ready", 200, "{\"status\":\"READY\"}");
        assertEquals("UP\n", hostctl("health").out());
        Result ready = hostctl("ready");
        assertExit(0, ready);
        assertEquals("READY\n", ready.out());
        assertEquals("READY", hostctl("ready", "--json").json().get("status").asText());

        daemon.problem("GET", "/v1/ready", 503, "unavailable", "Not ready", "adopting templates");
        Result notReady = hostctl("ready");
        assertExit(5, notReady);
        assertEquals("", notReady.out());
        assertEquals("Not ready: adopting templates\n", notReady.err());
    }

    @Test
    void metricsArePassedThrough() {
        String text = "# TYPE hostd_sandboxes_live gauge\nhostd_sandboxes_live 3\n";
        daemon.route("GET", "/metrics", new FakeDaemon.Canned(200, "text/plain; version=0.0.4", text));
        Result r = hostctl("metrics");
        assertExit(0, r);
        assertEquals(text, r.out());
    }

    // ---- templates ----

    @Test
    void templateListShowsTemplatesAndRejected() throws IOException {
        String list = "{\"templates\":[" + TEMPLATE + "],\"rejected\":[{\"id\":\"old\",\"directory\":\"/dev/shm/hostd/templates/old\","
                + "\"reason\":\"snapshot format 2.0 is not supported\"}]}";
        daemon.json("GET", "/v1/templates", 200, list);
        Result r = hostctl("template", "list");
        assertExit(0, r);
        String[] lines = r.out().split("\n");
        assertTrue(lines[0].startsWith("ID     MEMORY  CREATED"), r.out());
        assertTrue(lines[1].startsWith("fn-py  64 MiB  2025-01-01T00:00:00Z  0123456789ab  1.0"), r.out());
        assertTrue(r.out().contains("REJECTED  DIRECTORY                     REASON"), r.out());
        assertTrue(r.out().contains("old       /dev/shm/hostd/templates/old  snapshot format 2.0 is not supported"), r.out());
        assertEquals(JSON.readTree(list), hostctl("template", "list", "--json").json());
    }

    @Test
    void templateCreateSendsTheBodyAndReportsConflicts() throws IOException {
        daemon.json("POST", "/v1/templates", 201, TEMPLATE);
        Result r = hostctl("template", "create", "fn-py", "--image", "test-guest", "--memory-mib", "64");
        assertExit(0, r);
        assertEquals(JSON.readTree("{\"id\":\"fn-py\",\"image\":\"test-guest\",\"memoryMiB\":64}"),
                JSON.readTree(daemon.last().body()));
        assertTrue(daemon.last().contentType().startsWith("application/json"), daemon.last().contentType());
        assertTrue(r.out().contains("directory:     /dev/shm/hostd/templates/fn-py"), r.out());

        daemon.problem("POST", "/v1/templates", 409, "conflict", "Template exists", "template fn-py already exists");
        Result c = hostctl("template", "create", "fn-py", "--image", "test-guest");
        assertExit(3, c);
        assertEquals("Template exists: template fn-py already exists\n", c.err());
        assertEquals("", c.out());
        assertFalse(JSON.readTree(daemon.last().body()).has("memoryMiB"), "memoryMiB left to the daemon");

        daemon.problem("POST", "/v1/templates", 400, "invalid-input", "Invalid input", "memoryMiB must be >= 2");
        assertExit(4, hostctl("template", "create", "x", "--image", "test-guest", "--memory-mib", "1"));
        daemon.problem("POST", "/v1/templates", 413, "payload-too-large", "Too large", "max 1 MiB");
        assertExit(4, hostctl("template", "create", "x", "--image", "test-guest"));
    }

    @Test
    void templateCreateOfALinuxGuestSendsItsMembersAndUnsupportedHostIsExit5() throws IOException {
        daemon.json("POST", "/v1/templates", 201, TEMPLATE);
        assertExit(0, hostctl("template", "create", "deb", "--guest", "linux", "--kernel", "vmlinuz", "--initramfs", "initramfs.cpio",
                "--vcpus", "2", "--memory-mib", "256"));
        assertEquals(JSON.readTree("{\"id\":\"deb\",\"guest\":\"linux\",\"kernel\":\"vmlinuz\",\"initramfs\":\"initramfs.cpio\","
                + "\"vcpus\":2,\"memoryMiB\":256}"), JSON.readTree(daemon.last().body()));

        daemon.problem("POST", "/v1/templates", 422, "unsupported-host", "Guest not supported on this host",
                "Linux guests need hardware virtualization (vmx/svm)");
        Result r = hostctl("template", "create", "deb", "--guest", "linux");
        assertExit(5, r);
        assertTrue(r.err().contains("vmx/svm"), r.err());
        assertEquals(JSON.readTree("{\"id\":\"deb\",\"guest\":\"linux\"}"), JSON.readTree(daemon.last().body()), "defaults left to the daemon");
    }

    @Test
    void templateGetNotFoundIsExit2() {
        daemon.problem("GET", "/v1/templates/nope", 404, "not-found", "Not found", "no template nope");
        Result r = hostctl("template", "get", "nope");
        assertExit(2, r);
        assertEquals("Not found: no template nope\n", r.err());
        assertEquals("", r.out());
    }

    @Test
    void templateIdsArePathEncoded() {
        hostctl("template", "get", "a b/c");
        assertEquals("/v1/templates/a%20b%2Fc", daemon.last().uri());
    }

    @Test
    void templateVerifyOkDamagedAndCorrupt() {
        daemon.json("POST", "/v1/templates/fn-py/verify", 200,
                "{\"id\":\"fn-py\",\"ok\":true,\"detail\":\"state and memory intact\"}");
        Result ok = hostctl("template", "verify", "fn-py");
        assertExit(0, ok);
        assertEquals("fn-py: ok (state and memory intact)\n", ok.out());

        daemon.json("POST", "/v1/templates/fn-py/verify", 200,
                "{\"id\":\"fn-py\",\"ok\":false,\"detail\":\"memory CRC32C mismatch\"}");
        Result bad = hostctl("template", "verify", "fn-py");
        assertExit(7, bad);
        assertTrue(bad.err().contains("memory CRC32C mismatch"), bad.err());

        daemon.problem("POST", "/v1/templates/fn-py/verify", 422, "corrupt", "Template corrupt", "state body checksum mismatch");
        Result corrupt = hostctl("template", "verify", "fn-py");
        assertExit(7, corrupt);
        assertEquals("Template corrupt: state body checksum mismatch\n", corrupt.err());
    }

    @Test
    void templateDelete() throws IOException {
        daemon.route("DELETE", "/v1/templates/fn-py", new FakeDaemon.Canned(204, null, null));
        Result r = hostctl("template", "delete", "fn-py");
        assertExit(0, r);
        assertEquals("deleted template fn-py\n", r.out());
        Result j = hostctl("--json", "template", "delete", "fn-py");
        assertEquals(JSON.readTree("{\"id\":\"fn-py\",\"deleted\":true}"), j.json());
        assertExit(2, hostctl("template", "delete", "other")); // the fake's default 404
    }

    // ---- sandboxes ----

    @Test
    void sandboxListPassesFiltersAndAlignsColumns() throws IOException {
        String list = "{\"sandboxes\":[" + SANDBOX_A + "," + SANDBOX_B + "]}";
        daemon.json("GET", "/v1/sandboxes", 200, list);
        Result r = hostctl("sandbox", "list", "--tenant", "t1", "--state", "running");
        assertExit(0, r);
        assertEquals("/v1/sandboxes?tenant=t1&state=RUNNING", daemon.last().uri());
        String[] lines = r.out().split("\n");
        assertEquals(3, lines.length, r.out());
        // every row's columns start where the header's do
        for (String column : List.of("TEMPLATE", "TENANT", "STATE", "IPV4", "MAC")) {
            int at = lines[0].indexOf(column);
            assertTrue(at > 0 && lines[1].charAt(at - 1) == ' ' && lines[1].charAt(at) != ' '
                    && lines[2].charAt(at - 1) == ' ' && lines[2].charAt(at) != ' ', column + " aligned:\n" + r.out());
        }
        assertTrue(lines[1].contains("198.18.0.10/15"), lines[1]);
        assertTrue(lines[1].contains("3.25    2"), lines[1]); // right-aligned numbers
        assertTrue(lines[2].contains("12.50    7"), lines[2]);
        assertTrue(lines[0].endsWith("MEM LIMIT  CPU LIMIT  CPU S"), lines[0]);
        assertTrue(lines[1].endsWith("64.0 MiB        20%   1.23"), lines[1]);
        assertTrue(lines[2].endsWith("128 MiB          -      -"), lines[2]); // no cgroup: no limit, no CPU time
        assertEquals(JSON.readTree(list), hostctl("sandbox", "list", "--json").json());
        assertEquals("/v1/sandboxes", daemon.last().uri());
    }

    @Test
    void sandboxCreateSendsIdentityAndMapsLimits() throws IOException {
        daemon.json("POST", "/v1/sandboxes", 201, SANDBOX_A);
        Result r = hostctl("sandbox", "create", "--template", "fn-py", "--tenant", "t1", "--id", "sbx-a",
                "--mac", "02:00:00:00:00:01", "--ipv4", "198.18.0.10", "--prefix-length", "15",
                "--gateway", "198.18.0.1", "--hostname", "sbx-a");
        assertExit(0, r);
        assertEquals(JSON.readTree("""
                {"id":"sbx-a","template":"fn-py","tenant":"t1","mac":"02:00:00:00:00:01","ipv4":"198.18.0.10",
                 "prefixLength":15,"gateway":"198.18.0.1","hostname":"sbx-a"}"""), JSON.readTree(daemon.last().body()));
        assertTrue(r.out().contains("ipv4:      198.18.0.10/15"), r.out());

        Result q = hostctl("sandbox", "create", "--template", "fn-py", "-q");
        assertEquals("sbx-a\n", q.out());
        assertEquals(JSON.readTree("{\"template\":\"fn-py\"}"), JSON.readTree(daemon.last().body()),
                "options left out are not sent");
        assertEquals(JSON.readTree(SANDBOX_A), hostctl("sandbox", "create", "--template", "fn-py", "--json").json());

        assertExit(0, hostctl("sandbox", "create", "--template", "fn-py", "--cpu-percent", "20", "--cpu-weight", "300"));
        assertEquals(JSON.readTree("{\"template\":\"fn-py\",\"limits\":{\"cpuPercent\":20,\"cpuWeight\":300}}"),
                JSON.readTree(daemon.last().body()));
        assertExit(0, hostctl("sandbox", "create", "--template", "fn-py", "--cpu-weight", "50"));
        assertEquals(JSON.readTree("{\"template\":\"fn-py\",\"limits\":{\"cpuWeight\":50}}"), JSON.readTree(daemon.last().body()),
                "only the limit given is sent; the daemon fills in its default");

        daemon.problem("POST", "/v1/sandboxes", 429, "limit-exceeded", "Limit exceeded", "2500 sandboxes live");
        Result limit = hostctl("sandbox", "create", "--template", "fn-py");
        assertExit(5, limit);
        assertEquals("Limit exceeded: 2500 sandboxes live\n", limit.err());
        daemon.problem("POST", "/v1/sandboxes", 400, "invalid-input", "Invalid input", "bad MAC");
        assertExit(4, hostctl("sandbox", "create", "--template", "fn-py", "--mac", "zz"));
        daemon.problem("POST", "/v1/sandboxes", 503, "host-unavailable", "Host unavailable", "/dev/kvm missing");
        assertExit(5, hostctl("sandbox", "create", "--template", "fn-py"));
        daemon.problem("POST", "/v1/sandboxes", 502, "guest-failure", "Guest failure", "agent did not acknowledge");
        assertExit(7, hostctl("sandbox", "create", "--template", "fn-py"));
    }

    @Test
    void sandboxGetPauseResumeConsoleDelete() throws IOException {
        daemon.json("GET", "/v1/sandboxes/sbx-a", 200, SANDBOX_A);
        daemon.json("POST", "/v1/sandboxes/sbx-a/pause", 200, SANDBOX_A.replace("RUNNING", "PAUSED"));
        daemon.json("POST", "/v1/sandboxes/sbx-a/resume", 200, SANDBOX_A);
        daemon.route("GET", "/v1/sandboxes/sbx-a/console", new FakeDaemon.Canned(200, "text/plain", "booted\nready"));
        daemon.route("DELETE", "/v1/sandboxes/sbx-a", new FakeDaemon.Canned(204, null, null));

        Result got = hostctl("sandbox", "get", "sbx-a");
        assertTrue(got.out().contains("agent:     generation 2, identities seen 1"), got.out());
        assertTrue(got.out().contains("memory:    36.0 KiB private of 64.0 MiB guest RAM\n"), got.out());
        assertTrue(got.out().contains("cpu:       20% of a CPU, weight 100, used 1.23 s\n"), got.out());
        assertTrue(got.out().contains("cgroup:    /hostd-sandboxes/g3\n"), got.out());
        Result p = hostctl("sandbox", "pause", "sbx-a");
        assertExit(0, p);
        assertTrue(p.out().contains("state:     PAUSED"), p.out());
        assertEquals("", daemon.last().body(), "pause has no body");
        assertEquals("RUNNING", hostctl("sandbox", "resume", "sbx-a", "--json").json().get("state").asText());
        assertEquals("booted\nready\n", hostctl("sandbox", "console", "sbx-a").out());
        assertEquals("deleted sandbox sbx-a\n", hostctl("sandbox", "delete", "sbx-a").out());
        assertEquals("DELETE", daemon.last().method());

        daemon.problem("POST", "/v1/sandboxes/sbx-a/resume", 409, "conflict", "Conflict", "sandbox sbx-a is RUNNING");
        assertExit(3, hostctl("sandbox", "resume", "sbx-a"));
        assertExit(2, hostctl("sandbox", "get", "sbx-gone"));
    }

    @Test
    void invokeSendsTheArgumentAndPrintsTheOutput(@TempDir Path files) throws IOException {
        daemon.json("POST", "/v1/sandboxes/sbx-a/invoke", 200, invokeAnswer(0, "OK", "héllo\n".getBytes(StandardCharsets.UTF_8)));
        Result r = hostctl("sandbox", "invoke", "sbx-a", "echo", "--arg", "héllo\n");
        assertExit(0, r);
        assertEquals("héllo\n", r.out());
        assertTrue(r.err().startsWith("echo: status 0 OK, 7 bytes, 0.12 ms"), r.err());
        JsonNode sent = JSON.readTree(daemon.last().body());
        assertEquals("echo", sent.get("function").asText());
        assertEquals("héllo\n", new String(Base64.getDecoder().decode(sent.get("argumentBase64").asText()), StandardCharsets.UTF_8));

        Path arg = files.resolve("arg.bin");
        Files.write(arg, new byte[] {0, 1, 2, (byte) 0xff});
        hostctl("sandbox", "invoke", "sbx-a", "echo", "--arg-file", arg.toString());
        assertEquals("AAEC/w==", JSON.readTree(daemon.last().body()).get("argumentBase64").asText());
        assertExit(2, hostctl("sandbox", "invoke", "sbx-a", "echo", "--arg-file", files.resolve("missing").toString()));
        hostctl("sandbox", "invoke", "sbx-a", "identity");
        assertEquals("", JSON.readTree(daemon.last().body()).get("argumentBase64").asText(), "no argument: empty");

        byte[] binary = {0, (byte) 0x9f, 0x10, 0x7f};
        daemon.json("POST", "/v1/sandboxes/sbx-a/invoke", 200, invokeAnswer(0, "OK", binary));
        Result b = hostctl("sandbox", "invoke", "sbx-a", "sha256", "-a", "x");
        assertEquals(Base64.getEncoder().encodeToString(binary) + "\n", b.out());
        assertTrue(b.err().contains("binary output shown as base64"), b.err());
        Path out = files.resolve("out.bin");
        Result o = hostctl("sandbox", "invoke", "sbx-a", "sha256", "-a", "x", "-o", out.toString());
        assertExit(0, o);
        assertEquals("", o.out());
        assertEquals(List.of((byte) 0, (byte) 0x9f, (byte) 0x10, (byte) 0x7f), toList(Files.readAllBytes(out)));

        Result j = hostctl("--json", "sandbox", "invoke", "sbx-a", "sha256");
        assertEquals("OK", j.json().get("statusName").asText());

        daemon.json("POST", "/v1/sandboxes/sbx-a/invoke", 200, invokeAnswer(3, "UNKNOWN_FUNCTION", new byte[0]));
        Result failed = hostctl("sandbox", "invoke", "sbx-a", "nope");
        assertExit(7, failed);
        assertTrue(failed.err().contains("status 3 UNKNOWN_FUNCTION"), failed.err());
        daemon.problem("POST", "/v1/sandboxes/sbx-a/invoke", 504, "timeout", "Timeout", "no answer from the guest in 30 s");
        assertExit(7, hostctl("sandbox", "invoke", "sbx-a", "spin"));
        daemon.problem("POST", "/v1/sandboxes/sbx-a/invoke", 415, "unsupported-media-type", "Unsupported media type", "JSON only");
        assertExit(4, hostctl("sandbox", "invoke", "sbx-a", "echo"));
    }

    static String invokeAnswer(int status, String name, byte[] output) {
        return "{\"status\":" + status + ",\"statusName\":\"" + name + "\",\"outputBase64\":\""
                + Base64.getEncoder().encodeToString(output) + "\",\"millis\":0.12}";
    }

    static List<Byte> toList(byte[] b) {
        List<Byte> l = new ArrayList<>();
        for (byte x : b) {
            l.add(x);
        }
        return l;
    }

    // ---- errors that are not problems ----

    @Test
    void nonJsonServerErrorIsExit7WithStatusAndText() {
        daemon.route("GET", "/v1/host", new FakeDaemon.Canned(500, "text/plain", "boom\nstack trace"));
        Result r = hostctl("host");
        assertExit(7, r);
        assertEquals("HTTP 500: boom\n", r.err());
    }

    @Test
    void malformedJsonFromTheDaemonIsExit7() {
        daemon.json("GET", "/v1/host", 200, "{not json");
        Result r = hostctl("host");
        assertExit(7, r);
        assertTrue(r.err().contains("not JSON"), r.err());
    }

    // ---- top ----

    @Test
    void topRefreshesTheGivenNumberOfTimes() throws IOException {
        daemon.json("GET", "/v1/host", 200, HOST);
        daemon.json("GET", "/v1/sandboxes", 200, "{\"sandboxes\":[" + SANDBOX_B + "," + SANDBOX_A + "]}");
        Result r = hostctl("top", "--iterations", "2", "--interval", "0.05", "--tenant", "t1");
        assertExit(0, r);
        assertEquals(2, r.out().split("sandboxes: 3 live of 2500", -1).length - 1, r.out());
        assertTrue(r.out().contains("(shown: 2, 1 running, 1 paused)  templates: 2"), r.out());
        int a = r.out().indexOf("sbx-a ");
        int b = r.out().indexOf("sbx-bbbbbbbbbbbb ");
        assertTrue(a > 0 && b > a, "sorted by id:\n" + r.out());
        assertFalse(r.out().contains("\033["), "no escape codes when stdout is not a terminal");
        assertEquals("/v1/sandboxes?tenant=t1", daemon.last().uri());

        String[] first = r.out().substring(0, r.out().indexOf("\nhostd ")).split("\n");
        String header = java.util.Arrays.stream(first).filter(l -> l.startsWith("ID ")).findFirst().orElseThrow(() -> new AssertionError(r.out()));
        assertTrue(header.endsWith("CPU S  CPU%"), header);
        String rowA = java.util.Arrays.stream(first).filter(l -> l.startsWith("sbx-a ")).findFirst().orElseThrow(() -> new AssertionError(r.out()));
        assertTrue(rowA.endsWith("1.23     -"), "no rate on the first refresh: " + rowA);
        String[] lines2 = r.out().split("\n");
        String lastA = lines2[lines2.length - (a < b ? 2 : 1)];
        assertTrue(lastA.startsWith("sbx-a ") && lastA.endsWith("1.23   0.0"), "the same CPU time a refresh later is 0%: " + lastA);

        Result byClone = hostctl("top", "-n", "1", "--sort", "clone");
        assertTrue(byClone.out().indexOf("sbx-bbbbbbbbbbbb ") < byClone.out().indexOf("sbx-a "), "slowest clone first");

        Result j = hostctl("top", "-n", "3", "--interval", "0.05", "--json");
        assertExit(0, j);
        String[] lines = j.out().split("\n");
        assertEquals(3, lines.length, j.out());
        for (String line : lines) {
            JsonNode frame = JSON.readTree(line);
            assertEquals(3, frame.get("host").get("sandboxes").get("live").asInt());
            assertEquals(2, frame.get("sandboxes").size());
        }
    }

    @Test
    void topStopsWithExit6WhenTheDaemonGoesAway() throws IOException {
        daemon.close();
        Result r = hostctl("top", "-n", "5");
        assertExit(6, r);
    }

    // ---- daemon unreachable ----

    @Test
    void missingSocketIsExit6NamingThePath() {
        Path missing = dir.resolve("no-such.sock");
        Result r = hostctlRaw("--socket", missing.toString(), "host");
        assertExit(6, r);
        assertTrue(r.err().contains(missing.toString()), r.err());
        assertTrue(r.err().contains("does not exist"), r.err());
        assertEquals("", r.out());
    }

    @Test
    void socketWithoutListenerIsExit6ConnectionRefused() throws IOException {
        Path dead = dir.resolve("dead.sock");
        try (ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.bind(UnixDomainSocketAddress.of(dead));
        } // closed: the socket file stays, nobody listens
        try {
            Result r = hostctlRaw("--socket", dead.toString(), "--json", "sandbox", "list");
            assertExit(6, r);
            assertTrue(r.err().contains(dead.toString()) && r.err().contains("connection refused"), r.err());
        } finally {
            Files.deleteIfExists(dead);
        }
    }

    @Test
    void daemonThatNeverAnswersIsExit6AfterTheTimeout() {
        daemon.route("GET", "/v1/host", FakeDaemon.SILENT);
        Result r = hostctlRaw("--socket", daemon.socket().toString(), "--timeout", "1", "host");
        assertExit(6, r);
        assertTrue(r.err().contains("no answer within 1 s"), r.err());
    }

    @Test
    void socketDefaultsToRunHostd() {
        Hostctl root = new Hostctl();
        picocli.CommandLine cl = new picocli.CommandLine(root);
        cl.parseArgs("health");
        String env = System.getenv("HOSTD_SOCKET");
        assertEquals(env == null ? Path.of("/run/hostd/hostd.sock") : Path.of(env), root.socket);
    }
}
