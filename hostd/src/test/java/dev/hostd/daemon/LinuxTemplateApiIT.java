package dev.hostd.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import com.fasterxml.jackson.databind.JsonNode;
import dev.hostd.vmm.kvm.HardwareVirtualization;
import dev.hostd.vmm.loader.linux.GuestKernelCache;
import dev.hostd.vmm.machine.LinuxVm;
import dev.hostd.vmm.machine.TinyPvhGuests;
import dev.hostd.vmm.snapshot.MachineState;
import dev.hostd.vmm.snapshot.MicrovmState;
import dev.hostd.vmm.snapshot.SnapshotFile;
import dev.hostd.vmm.testing.SharedKvm;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Linux templates through the real daemon on this host (Unix socket, /dev/kvm, templates under
 * /dev/shm), every answer checked against docs/openapi.yaml: each bad member of a Linux template
 * request is an invalid-input naming it; a valid request on a host without vmx/svm is refused up
 * front with unsupported-host and its reason, leaving no template or build directory; a damaged
 * Linux template found at start is rejected with its reason, a valid one (a tiny PVH guest's
 * snapshot) is adopted and its sandbox goes through the Linux cloner to a timeout (no agent) that
 * frees everything; and through all of it the daemon
 * keeps building, cloning and invoking test-guest templates. Building and cloning a real Linux
 * template is LinuxTemplateIT (where vmx/svm exist).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LinuxTemplateApiIT {
    static final String TEST_TEMPLATE = "tg";

    private TestDirs dirs;
    private Path imageDir;
    private Path kernel;
    private Path initramfs;
    private ApplicationContext context;
    private UdsHttpClient client;
    private final OpenApi openApi = new OpenApi();

    private void start() {
        Map<String, Object> p = dirs.daemonProperties();
        p.put("hostd.warmup-clones", 1);
        p.put("hostd.shutdown-grace", "2s");
        p.put("hostd.ready-timeout", "2s"); // the tiny Linux guest never says hello: its clones wait this long
        p.put(LinuxTemplates.DEFAULT_INITRAMFS_KEY, initramfs.toString());
        context = ApplicationContext.run(EmbeddedServer.class, p).getApplicationContext();
    }

    @BeforeAll
    void startDaemon() throws IOException {
        dirs = new TestDirs("linux-api");
        imageDir = Files.createDirectories(dirs.state.resolve("images"));
        Path cached = GuestKernelCache.vmlinuz(GuestKernelCache.directory())
                .orElseGet(() -> fail("no boot/vmlinuz-* under " + GuestKernelCache.directory() + "; " + GuestKernelCache.HOW_TO_FETCH));
        kernel = Files.copy(cached, imageDir.resolve("vmlinuz"));
        Path built = Path.of(System.getProperty("user.dir")).resolveSibling("guest").resolve("target/linux-guest/initramfs.cpio");
        if (!Files.isRegularFile(built)) {
            fail("no initramfs at " + built + "; build the guest module (scripts/setup installs what it needs)");
        }
        initramfs = Files.copy(built, imageDir.resolve("initramfs.cpio"));
        client = new UdsHttpClient(dirs.socket);
        start();
    }

    @AfterAll
    void stopDaemon() {
        TestDirs.stopAll(context, client, dirs);
    }

    private UdsHttpClient.Response expect(int status, UdsHttpClient.Response r) {
        return openApi.expect(status, r);
    }

    /** The problem's detail. */
    private String problem(int status, String code, UdsHttpClient.Response r) {
        return openApi.problem(status, code, r).get("detail").asText();
    }

    private Map<String, Object> linux(String id, Object... members) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("id", id);
        body.put("guest", "linux");
        body.put("kernel", kernel.toString());
        body.put("initramfs", "initramfs.cpio"); // relative to the image directory
        for (int i = 0; i < members.length; i += 2) {
            if (members[i + 1] == null) {
                body.remove((String) members[i]);
            } else {
                body.put((String) members[i], members[i + 1]);
            }
        }
        return body;
    }

    private List<Path> templateDirEntries() throws IOException {
        try (Stream<Path> entries = Files.list(dirs.templatesRoot.resolve("templates"))) {
            return entries.toList();
        }
    }

    /** The daemon still builds, clones, invokes and deletes test-guest sandboxes. */
    private void testGuestStillServes(String sandboxId) {
        JsonNode s = expect(201, client.post("/v1/sandboxes", Map.of("id", sandboxId, "template", TEST_TEMPLATE, "tenant", "acme"))).json();
        assertEquals("RUNNING", s.get("state").asText());
        JsonNode out = expect(200, client.post("/v1/sandboxes/" + sandboxId + "/invoke",
                Map.of("function", "echo", "argumentBase64", Base64.getEncoder().encodeToString(new byte[] {4, 2})))).json();
        assertEquals(Base64.getEncoder().encodeToString(new byte[] {4, 2}), out.get("outputBase64").asText(), "echo answered");
        expect(204, client.delete("/v1/sandboxes/" + sandboxId));
    }

    @Test
    @Order(10)
    void aTestGuestTemplateAndSandboxFirst() {
        JsonNode t = expect(201, client.post("/v1/templates", Map.of("id", TEST_TEMPLATE, "image", "test-guest", "memoryMiB", 16))).json();
        assertEquals("test-guest", t.get("guest").asText());
        assertEquals(1, t.get("vcpus").asInt());
        testGuestStillServes("sbx-before");
    }

    @Test
    @Order(20)
    void eachBadMemberOfALinuxRequestIsInvalidInputNamingIt() throws IOException {
        String d;
        d = problem(400, "invalid-input", client.post("/v1/templates", linux("l1", "guest", "windows")));
        assertTrue(d.startsWith("guest 'windows' is not a guest kind"), d);
        d = problem(400, "invalid-input", client.post("/v1/templates", linux("l1", "kernel", imageDir.resolve("missing").toString())));
        assertTrue(d.startsWith("kernel ") && d.contains("is not a file under"), d);
        Path outside = Files.write(dirs.base.resolve("vmlinuz-outside"), Files.readAllBytes(kernel));
        d = problem(400, "invalid-input", client.post("/v1/templates", linux("l1", "kernel", outside.toString())));
        assertTrue(d.startsWith("kernel " + outside + " is not a file under") && d.contains(HostdConfig.IMAGE_DIR_KEY), d);
        d = problem(400, "invalid-input", client.post("/v1/templates", linux("l1", "kernel", "../vmlinuz")));
        assertTrue(d.startsWith("kernel '../vmlinuz' must be a normalized path"), d);
        d = problem(400, "invalid-input", client.post("/v1/templates", linux("l1", "kernel", "initramfs.cpio")));
        assertTrue(d.contains(": kernel " + imageDir.resolve("initramfs.cpio") + " is neither a bzImage nor a vmlinux"), d); // after "building template ..."
        Path unreadable = Files.createDirectories(imageDir.resolve("a-directory"));
        d = problem(400, "invalid-input", client.post("/v1/templates", linux("l1", "initramfs", unreadable.toString())));
        assertTrue(d.startsWith("initramfs " + unreadable + " is not a regular file"), d);
        d = problem(400, "invalid-input", client.post("/v1/templates", linux("l1", "vcpus", 0)));
        assertTrue(d.startsWith("vcpus of a Linux template must be in 1..32, got 0"), d);
        d = problem(400, "invalid-input", client.post("/v1/templates", linux("l1", "vcpus", 33)));
        assertTrue(d.startsWith("vcpus of a Linux template must be in 1..32, got 33"), d);
        d = problem(400, "invalid-input", client.post("/v1/templates", linux("l1", "memoryMiB", 32)));
        assertTrue(d.startsWith("memoryMiB of a Linux template must be in 64..3328, got 32"), d);
        d = problem(400, "invalid-input", client.post("/v1/templates", linux("l1", "memoryMiB", 4096)));
        assertTrue(d.startsWith("memoryMiB of a Linux template must be in 64..3328, got 4096"), d);
        d = problem(400, "invalid-input", client.post("/v1/templates", linux("l1", "image", "test-guest")));
        assertTrue(d.startsWith("image is the test guest's"), d);
        d = problem(400, "invalid-input", client.post("/v1/templates", linux("l1", "network", true)));
        assertTrue(d.startsWith("network: Linux templates have no network device"), d);
        d = problem(400, "invalid-input", client.post("/v1/templates", linux("Bad Id")));
        assertTrue(d.contains("template id 'Bad Id'"), d);
        d = problem(400, "invalid-input", client.post("/v1/templates", Map.of("id", "l1", "image", "test-guest", "vcpus", 2)));
        assertTrue(d.startsWith("vcpus is for Linux templates"), d);
        d = problem(400, "invalid-input", client.post("/v1/templates", Map.of("id", "l1", "image", "test-guest", "kernel", "vmlinuz")));
        assertTrue(d.startsWith("kernel is for Linux templates"), d);
        assertEquals(List.of(dirs.templatesRoot.resolve("templates").resolve(TEST_TEMPLATE)), templateDirEntries());
    }

    @Test
    @Order(30)
    void onAHostWithoutVmxOrSvmALinuxTemplateIsRefusedUpFrontWithTheReason() throws IOException {
        assumeFalse(HardwareVirtualization.present(), "this host has vmx/svm, so a Linux template builds here (LinuxTemplateIT)");
        String d = problem(422, "unsupported-host", client.post("/v1/templates", linux("linux-1", "vcpus", 2, "memoryMiB", 256)));
        assertTrue(d.contains("Linux guests need hardware virtualization (vmx/svm)"), d);
        assertTrue(d.contains("PVM"), d);
        assertTrue(d.contains("'linux-1'"), d);
        // The defaults (kernel from the kernel cache, initramfs from hostd.linux.default-initramfs) reach the same check.
        d = problem(422, "unsupported-host", client.post("/v1/templates", Map.of("id", "linux-2", "guest", "linux")));
        assertTrue(d.contains("vmx/svm"), d);

        problem(404, "not-found", client.get("/v1/templates/linux-1"));
        JsonNode list = expect(200, client.get("/v1/templates")).json();
        assertEquals(1, list.get("templates").size(), list::toString);
        assertEquals(List.of(dirs.templatesRoot.resolve("templates").resolve(TEST_TEMPLATE)), templateDirEntries(),
                "no template or build directory was made");
        assertEquals("READY", context.getBean(Engine.class).phase().name());
        testGuestStillServes("sbx-after-refusal");
    }

    @Test
    @Order(40)
    void aDamagedLinuxTemplateFoundAtStartIsRejectedWithItsReasonAndTheRestServes() throws Exception {
        context.close();
        // A valid Linux template too, of a tiny PVH guest that spins and never starts an agent (what runs here).
        byte[] tiny = TinyPvhGuests.build(Files.createDirectories(dirs.base.resolve("tiny")), "spin",
                "    mov $0x10000, %esp\n1:  incl 0x9100\n    jmp 1b\n");
        Path tinyDir = Files.createDirectory(dirs.templatesRoot.resolve("templates/tiny-linux"));
        try (LinuxVm vm = LinuxVm.bootVmlinux("tiny", SharedKvm.get(), tiny, "", 64, 2)) {
            vm.snapshot(tinyDir, Map.of("template.id", "tiny-linux", "template.guest", "linux"));
        }
        // A Linux template whose state is not one a Linux guest can have: the test guest's machine relabelled.
        Path tg = dirs.templatesRoot.resolve("templates").resolve(TEST_TEMPLATE);
        Path bad = Files.createDirectory(dirs.templatesRoot.resolve("templates/linux-bad"));
        Files.copy(tg.resolve("memory"), bad.resolve("memory"), StandardCopyOption.COPY_ATTRIBUTES);
        MicrovmState s = SnapshotFile.read(tg.resolve("state"));
        Map<String, String> metadata = new LinkedHashMap<>(s.metadata());
        metadata.put("template.id", "linux-bad");
        metadata.put("template.guest", "linux");
        SnapshotFile.write(bad.resolve("state"), new MicrovmState(new MachineState(s.machine().vcpuCount(), s.machine().memoryBytes(),
                s.machine().irqchip(), "linux"), s.memory(), s.vm(), s.vcpus(), s.devices(), metadata));
        start();

        JsonNode list = expect(200, client.get("/v1/templates")).json();
        assertEquals(2, list.get("templates").size(), list::toString);
        assertEquals(TEST_TEMPLATE, list.get("templates").get(0).get("id").asText());
        assertEquals(1, list.get("rejected").size(), list::toString);
        JsonNode rejected = list.get("rejected").get(0);
        assertEquals("linux-bad", rejected.get("id").asText());
        assertTrue(rejected.get("reason").asText().contains("Linux"), rejected::toString);
        problem(404, "not-found", client.get("/v1/templates/linux-bad"));
        assertFalse(expect(200, client.get("/v1/templates/" + TEST_TEMPLATE)).json().get("guest").asText().equals("linux"));
        testGuestStillServes("sbx-after-restart");
    }

    @Test
    @Order(50)
    void aSandboxOfALinuxTemplateGoesThroughTheLinuxClonerAndAFailedOneFreesEverything() {
        JsonNode t = expect(200, client.get("/v1/templates/tiny-linux")).json();
        assertEquals("linux", t.get("guest").asText());
        assertEquals(2, t.get("vcpus").asInt());
        assertEquals(64, t.get("memoryMiB").asInt());
        assertTrue(expect(200, client.post("/v1/templates/tiny-linux/verify")).json().get("ok").asBoolean());
        // The tiny guest has no agent: the clone is restored, resumed, and times out waiting for its HELLO.
        for (int attempt = 0; attempt < 2; attempt++) { // the id, MAC and address are free again after the failure
            String d = problem(504, "timeout", client.post("/v1/sandboxes", Map.of("id", "lx-1", "template", "tiny-linux",
                    "tenant", "acme", "mac", "02:00:00:00:0b:01", "ipv4", "198.18.11.1")));
            assertTrue(d.contains("Linux clone's agent did not say hello"), d);
        }
        assertEquals(0, expect(200, client.get("/v1/sandboxes")).json().get("sandboxes").size());
        expect(204, client.delete("/v1/templates/tiny-linux"));
        testGuestStillServes("sbx-after-linux");
    }
}
