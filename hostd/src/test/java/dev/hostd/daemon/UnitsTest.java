package dev.hostd.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hostd.template.TemplateException;
import dev.hostd.vmm.VmmException;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The daemon's small parts without KVM: settings, address allocation, metrics format, error mapping. */
class UnitsTest {
    private static HostdConfig config(String socket, int maxSandboxes, int maxPayload) {
        return new HostdConfig(socket, "0660", "hostd", "/var/lib/hostd", "/dev/shm/hostd", 4, "/var/lib/hostd/images", "/dev/kvm", Duration.ofSeconds(10),
                Duration.ofSeconds(30), 65536, 3, Duration.ofSeconds(10), maxSandboxes, maxPayload);
    }

    @Test
    void settingsAreCheckedAndNamedInTheMessage() {
        HostdConfig ok = config("/run/hostd/hostd.sock", 10, 1000);
        assertEquals(4 * 334 + 65536, ok.maxRequestBytes());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> config("relative.sock", 10, 1000));
        assertTrue(e.getMessage().contains("hostd.socket.path"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> config("/" + "x".repeat(120), 10, 1000));
        assertTrue(e.getMessage().contains("hostd.socket.path"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> config("/run/hostd.sock", 0, 1000));
        assertTrue(e.getMessage().contains(HostdConfig.MAX_SANDBOXES_KEY), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> config("/run/hostd.sock", 1, HostdConfig.MAX_PAYLOAD_CEILING + 1));
        assertTrue(e.getMessage().contains(HostdConfig.MAX_PAYLOAD_KEY), e.getMessage());
    }

    @Test
    void ipv4PoolSkipsGatewayAndNetworkAndIsPerTenant() {
        Ipv4Allocator a = new Ipv4Allocator();
        int first = a.allocate("t1");
        assertEquals("198.18.0.2", Ipv4Allocator.format(first));
        assertEquals("198.18.0.2", Ipv4Allocator.format(a.allocate("t2")), "tenants have separate address spaces");
        assertEquals("198.18.0.3", Ipv4Allocator.format(a.allocate("t1")));
        a.claim("t1", Ipv4Allocator.toInt(new byte[] {(byte) 198, 18, 0, 4}));
        assertEquals("198.18.0.5", Ipv4Allocator.format(a.allocate("t1")), "claimed addresses are skipped");
        ApiException dup = assertThrows(ApiException.class, () -> a.claim("t1", first));
        assertEquals(ProblemCode.CONFLICT, dup.code());
        a.release("t1", first);
        a.claim("t1", first);
        Set<Integer> seen = new HashSet<>();
        Ipv4Allocator b = new Ipv4Allocator();
        for (int i = 0; i < (1 << 17) - 3; i++) {
            int ip = b.allocate("big");
            assertTrue(seen.add(ip));
            assertTrue(ip != Ipv4Allocator.GATEWAY && ip != Ipv4Allocator.POOL_BASE);
        }
        assertEquals(ProblemCode.LIMIT_EXCEEDED, assertThrows(ApiException.class, () -> b.allocate("big")).code());
    }

    @Test
    void metricsAreValidPrometheusText() {
        Metrics m = new Metrics();
        m.cloneSeconds(0.0015);
        m.cloneSeconds(0.003);
        m.cloneSeconds(100);
        m.failure("timeout");
        m.failure("timeout");
        String text = m.scrape();
        assertTrue(text.contains("# TYPE hostd_clone_seconds histogram\n"), text);
        assertTrue(text.contains("hostd_clone_seconds_bucket{le=\"0.001\"} 0\n"), text);
        assertTrue(text.contains("hostd_clone_seconds_bucket{le=\"0.002\"} 1\n"), text);
        assertTrue(text.contains("hostd_clone_seconds_bucket{le=\"0.005\"} 2\n"), text);
        assertTrue(text.contains("hostd_clone_seconds_bucket{le=\"30\"} 2\n"), text);
        assertTrue(text.contains("hostd_clone_seconds_bucket{le=\"+Inf\"} 3\n"), text);
        assertTrue(text.contains("hostd_clone_seconds_count 3\n"), text);
        assertTrue(text.contains("hostd_failures_total{cause=\"timeout\"} 2\n"), text);
        for (String line : text.split("\n")) {
            assertTrue(line.startsWith("# HELP ") || line.startsWith("# TYPE ") || line.matches("[a-z_]+(\\{[a-z]+=\"[^\"]*\"})? [0-9.eE+-]+"), line);
        }
    }

    @Test
    void engineKindsMapToStableCodes() {
        assertEquals(ProblemCode.NOT_FOUND, Problems.toApi(new TemplateException(TemplateException.Kind.NOT_FOUND, "x")).code());
        assertEquals(ProblemCode.CORRUPT, Problems.toApi(new TemplateException(TemplateException.Kind.CORRUPT, "x")).code());
        assertEquals(ProblemCode.TIMEOUT, Problems.toApi(new TemplateException(TemplateException.Kind.TIMEOUT, "x")).code());
        assertEquals(ProblemCode.GUEST_FAILURE, Problems.toApi(new TemplateException(TemplateException.Kind.GUEST_FAILURE, "x")).code());
        assertEquals(ProblemCode.HOST_UNAVAILABLE, Problems.toApi(new TemplateException(TemplateException.Kind.HOST_UNAVAILABLE, "x")).code());
        assertEquals(ProblemCode.CONFLICT, Problems.toApi(new TemplateException(TemplateException.Kind.INTERNAL, "x",
                new VmmException(VmmException.Kind.INVALID_STATE, "pause", "not running"))).code());
        assertEquals(ProblemCode.HOST_UNAVAILABLE, Problems.toApi(new VmmException(VmmException.Kind.RESOURCE_EXHAUSTED, "mmap", "ENOMEM")).code());
        assertEquals(ProblemCode.INVALID_INPUT, Problems.toApi(new IllegalArgumentException("bad MAC")).code());
        assertEquals(ProblemCode.INTERNAL, Problems.toApi(new IllegalStateException("bug")).code());
        for (ProblemCode c : ProblemCode.values()) {
            assertEquals("https://hostd.dev/problems/" + c.code(), c.type());
        }
        assertEquals(ProblemCode.INVALID_INPUT, ProblemCode.forStatus(400));
        assertEquals(ProblemCode.INTERNAL, ProblemCode.forStatus(500));
    }

    @Test
    void socketModeParsing() {
        assertEquals("rw-rw----", PosixFilePermissions.toString(Lifecycle.permissions(0660)));
        assertEquals("rwxr-x---", PosixFilePermissions.toString(Lifecycle.permissions(0750)));
    }
}
