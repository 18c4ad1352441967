package dev.hostd.cli;

import static dev.hostd.cli.HostctlTest.JSON;
import static dev.hostd.cli.HostctlTest.assertExit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code hostctl tenant network set|get|delete} against {@link FakeDaemon}: what is sent, printed, and the exit codes. */
class TenantCommandsTest {
    static final String NETWORK = """
            {"tenant":"t1","vni":501,"cidr":"198.18.0.0/24","gateway":"198.18.0.1","namespace":"hostd-t-t1","sandboxes":2}""";

    @TempDir
    Path dir;
    FakeDaemon daemon;

    @BeforeEach
    void start() throws Exception {
        daemon = new FakeDaemon(dir.resolve("hostd.sock"));
    }

    @AfterEach
    void stop() throws IOException {
        daemon.close();
    }

    HostctlTest.Result hostctl(String... args) {
        List<String> all = new ArrayList<>(List.of("--socket", daemon.socket().toString(), "--timeout", "60")); // a hang guard: a loaded host may be slow to answer
        all.addAll(List.of(args));
        return HostctlTest.hostctlRaw(all.toArray(String[]::new));
    }

    @Test
    void setSendsThePutBodyAndPrintsTheNetwork() throws IOException {
        daemon.json("PUT", "/v1/tenants/t1/network", 200, NETWORK);
        HostctlTest.Result r = hostctl("tenant", "network", "set", "t1", "--vni", "501", "--cidr", "198.18.0.0/24", "--gateway", "198.18.0.1");
        assertExit(0, r);
        assertEquals("PUT", daemon.last().method());
        assertEquals(JSON.readTree("{\"vni\":501,\"cidr\":\"198.18.0.0/24\",\"gateway\":\"198.18.0.1\"}"), JSON.readTree(daemon.last().body()));
        assertEquals("t1 vni 501 198.18.0.0/24 gateway 198.18.0.1 namespace hostd-t-t1, 2 sandbox(es)\n", r.out());

        daemon.problem("PUT", "/v1/tenants/t1/network", 409, "conflict", "Conflict", "in use by 2 sandboxes");
        HostctlTest.Result c = hostctl("tenant", "network", "set", "t1", "--vni", "502", "--cidr", "198.18.0.0/24", "--gateway", "198.18.0.1");
        assertExit(3, c);
        assertEquals("Conflict: in use by 2 sandboxes\n", c.err());
        daemon.problem("PUT", "/v1/tenants/t1/network", 400, "invalid-input", "Invalid input", "vni must be 1..16777215; got 0");
        assertExit(4, hostctl("tenant", "network", "set", "t1", "--vni", "0", "--cidr", "198.18.0.0/24", "--gateway", "198.18.0.1"));
        assertExit(1, hostctl("tenant", "network", "set", "t1", "--vni", "5")); // --cidr and --gateway are required
    }

    @Test
    void getAndDelete() throws IOException {
        daemon.json("GET", "/v1/tenants/t1/network", 200, NETWORK);
        HostctlTest.Result g = hostctl("--json", "tenant", "network", "get", "t1");
        assertExit(0, g);
        assertEquals(JSON.readTree(NETWORK), g.json());
        daemon.problem("GET", "/v1/tenants/t2/network", 404, "not-found", "Not found", "tenant t2 has no network");
        assertExit(2, hostctl("tenant", "network", "get", "t2"));

        daemon.route("DELETE", "/v1/tenants/t1/network", new FakeDaemon.Canned(204, null, null));
        HostctlTest.Result d = hostctl("tenant", "network", "delete", "t1");
        assertExit(0, d);
        assertEquals("deleted the network of tenant t1\n", d.out());
        assertTrue(hostctl("tenant", "--help").out().contains("network"));
    }
}
