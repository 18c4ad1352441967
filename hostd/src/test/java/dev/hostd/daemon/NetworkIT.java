package dev.hostd.daemon;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.hostd.guest.TestGuestNet;
import dev.hostd.guest.TestGuestNet.Replies;
import dev.hostd.net.Ipv4;
import dev.hostd.net.Ipv4Cidr;
import dev.hostd.net.testbed.HostSupport;
import dev.hostd.net.testbed.Testbed;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The daemon with hostd.network.enabled, in namespaces the test makes (netns-forwarder's testbed:
 * an underlay namespace holding the host's end of the ENI, a gateway terminating VXLAN into the
 * tenant's VPC namespace with a UDP echo service). Through the API: a tenant network, a template
 * with a network device, two sandboxes with distinct leased addresses whose guests reach the VPC
 * service, delete removing the TAP, a restart setting the saved tenant up again, and stops leaving
 * no namespace, TAP or rule of the daemon's. The testbed deletes everything under its prefix, also
 * when an assertion fails.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS) // hang guard only
class NetworkIT {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Ipv4Cidr SUBNET = Ipv4Cidr.parse("198.18.0.0/24");
    static final int GATEWAY = Ipv4.parse("198.18.0.1"), SERVICE = Ipv4.parse("198.19.0.10");
    static final int VNI = 501;
    static final OpenApi API = new OpenApi();

    @Test
    void sandboxesOnATenantNetworkReachTheirVpcThroughTheDaemon() throws Exception {
        HostSupport.assumeNetworkAdmin();
        assumeTrue(Files.exists(Path.of("/dev/kvm")), "needs /dev/kvm to run test guests");
        try (Testbed testbed = Testbed.create(); TestDirs dirs = new TestDirs("network"); UdsHttpClient client = new UdsHttpClient(dirs.socket)) {
            String vpc = testbed.addVpc("a", VNI, SUBNET, GATEWAY, SERVICE);
            String tenantNs = testbed.prefix() + "t-a";
            Map<String, Object> settings = settings(testbed, dirs);
            try (ApplicationContext daemon = ApplicationContext.run(EmbeddedServer.class, settings).getApplicationContext()) {
                badTenantNetworksAreRefusedNamingTheField(client);

                UdsHttpClient.Response put = put(client, "/v1/tenants/a/network", Map.of("vni", VNI, "cidr", "198.18.0.0/24", "gateway", "198.18.0.1"));
                assertEquals(200, put.status(), put.toString());
                assertEquals(tenantNs, put.json().get("namespace").asText());
                assertEquals(put.json(), put(client, "/v1/tenants/a/network", Map.of("vni", VNI, "cidr", "198.18.0.0/24", "gateway", "198.18.0.1")).json(),
                        "the same network again changes nothing");
                assertEquals("198.18.0.0/24", validated(client.get("/v1/tenants/a/network")).json().get("cidr").asText());
                assertEquals(404, validated(client.get("/v1/tenants/nobody/network")).status());

                UdsHttpClient.Response tpl = validated(client.post("/v1/templates", Map.of("id", "net-tpl", "image", "test-guest", "memoryMiB", 16, "network", true)));
                assertEquals(201, tpl.status(), tpl.toString());
                assertTrue(tpl.json().get("network").asBoolean());

                UdsHttpClient.Response explicit = client.post("/v1/sandboxes", Map.of("template", "net-tpl", "tenant", "a", "ipv4", "198.18.0.77"));
                assertEquals(400, explicit.status(), explicit.toString());
                assertTrue(explicit.json().get("detail").asText().startsWith("ipv4 "), explicit.toString());
                UdsHttpClient.Response noNetwork = client.post("/v1/sandboxes", Map.of("template", "net-tpl", "tenant", "b"));
                assertEquals(409, noNetwork.status(), "tenant b has no network: " + noNetwork);

                JsonNode s1 = created(client.post("/v1/sandboxes", Map.of("id", "net-1", "template", "net-tpl", "tenant", "a")));
                JsonNode s2 = created(client.post("/v1/sandboxes", Map.of("id", "net-2", "template", "net-tpl", "tenant", "a")));
                int ip1 = Ipv4.parse(s1.get("ipv4").asText()), ip2 = Ipv4.parse(s2.get("ipv4").asText());
                assertNotEquals(ip1, ip2, "distinct leases");
                assertTrue(SUBNET.contains(ip1) && SUBNET.contains(ip2), s1 + " " + s2);
                assertEquals(Ipv4.format(GATEWAY), s1.get("gateway").asText());
                assertEquals(24, s1.get("prefixLength").asInt());
                assertEquals(tenantNs, s1.get("network").get("tenantNamespace").asText());
                String tap1 = s1.get("network").get("tap").asText(), tap2 = s2.get("network").get("tap").asText();
                assertTrue(Testbed.ip(tenantNs, "link", "show").contains(tap1), "TAP " + tap1 + " in " + tenantNs);
                assertEquals(2, client.get("/v1/tenants/a/network").json().get("sandboxes").asInt());
                assertEquals(409, client.post("/v1/sandboxes", Map.of("id", "net-2", "template", "net-tpl", "tenant", "a")).status(), "id in use");
                assertTrue(Testbed.ip(tenantNs, "link", "show").contains(tap2), "a refused duplicate leaves the live sandbox's TAP alone");
                assertEquals(2, client.get("/v1/tenants/a/network").json().get("sandboxes").asInt(), "and takes no port");

                assertEquals(409, put(client, "/v1/tenants/a/network", Map.of("vni", VNI + 1, "cidr", "198.18.0.0/24", "gateway", "198.18.0.1")).status(),
                        "a tenant network with live sandboxes cannot change");
                assertEquals(409, validated(client.delete("/v1/tenants/a/network")).status(), "nor be deleted");

                byte[] payload = "hello via hostd".getBytes(StandardCharsets.US_ASCII);
                Replies udp = Replies.parseUdp(invoke(client, "net-1", TestGuestNet.UDP, TestGuestNet.udp(Ipv4.toBytes(SERVICE), Testbed.ECHO_PORT, 2, payload)));
                assertEquals(2, udp.received(), () -> "UDP echo through the forwarder: " + udp + "\n" + diagnostics(client, tenantNs));
                assertArrayEquals(("a:hello via hostd").getBytes(StandardCharsets.US_ASCII), udp.lastReply(), "answered by tenant a's VPC");
                Replies ping = Replies.parsePing(invoke(client, "net-2", TestGuestNet.PING, TestGuestNet.ping(Ipv4.toBytes(SERVICE), 2)));
                assertEquals(2, ping.received(), "ICMP echo through the forwarder: " + ping);
                String neigh = Testbed.ip(vpc, "neigh", "show", s1.get("ipv4").asText());
                assertTrue(neigh.contains("lladdr " + s1.get("mac").asText()), "the VPC saw the leased MAC on the wire: " + neigh);

                assertEquals(204, client.delete("/v1/sandboxes/net-1").status());
                String links = Testbed.ip(tenantNs, "link", "show");
                assertFalse(links.contains(tap1), "TAP " + tap1 + " removed with its sandbox: " + links);
                assertTrue(links.contains(tap2), "the other sandbox's TAP stays");
                // net-2 is left running: stopping the daemon must remove it with its TAP and namespace
            }
            assertEquals(List.of(testbed.prefix() + "g", testbed.prefix() + "u", vpc), testbed.leftovers(),
                    "the daemon's stop left a tenant namespace (with its TAPs and rules) behind");
            assertEquals("", Testbed.ip(testbed.underlayNamespace(), "link", "show", "type", "vxlan").strip(), "no tunnel left in the underlay");

            // a restart sets the saved tenant network up again; a stop removes it again
            try (ApplicationContext daemon = ApplicationContext.run(EmbeddedServer.class, settings).getApplicationContext()) {
                assertEquals(VNI, client.get("/v1/tenants/a/network").json().get("vni").asInt());
                assertTrue(testbed.leftovers().contains(tenantNs), "tenant namespace set up at start");
                JsonNode s3 = created(client.post("/v1/sandboxes", Map.of("id", "net-3", "template", "net-tpl", "tenant", "a")));
                assertTrue(SUBNET.contains(Ipv4.parse(s3.get("ipv4").asText())));
                assertEquals(204, client.delete("/v1/sandboxes/net-3").status());
                assertEquals(204, validated(client.delete("/v1/tenants/a/network")).status());
                assertFalse(testbed.leftovers().contains(tenantNs), "DELETE removed the tenant namespace");
                assertEquals(404, client.get("/v1/tenants/a/network").status());
            }
            assertEquals(List.of(testbed.prefix() + "g", testbed.prefix() + "u", vpc), testbed.leftovers());
        }
    }

    private static void badTenantNetworksAreRefusedNamingTheField(UdsHttpClient client) {
        List<Map.Entry<String, Map<String, Object>>> bad = List.of(
                Map.entry("vni", Map.of("cidr", "198.18.0.0/24", "gateway", "198.18.0.1")),
                Map.entry("vni", Map.of("vni", 0, "cidr", "198.18.0.0/24", "gateway", "198.18.0.1")),
                Map.entry("vni", Map.of("vni", 16777216, "cidr", "198.18.0.0/24", "gateway", "198.18.0.1")),
                Map.entry("cidr", Map.of("vni", 7, "cidr", "198.18.0.0", "gateway", "198.18.0.1")),
                Map.entry("cidr", Map.of("vni", 7, "cidr", "198.18.0.5/24", "gateway", "198.18.0.1")),
                Map.entry("cidr", Map.of("vni", 7, "cidr", "198.18.0.0/31", "gateway", "198.18.0.1")),
                Map.entry("cidr", Map.of("vni", 7, "cidr", "198.18.300.0/24", "gateway", "198.18.0.1")),
                Map.entry("gateway", Map.of("vni", 7, "cidr", "198.18.0.0/24", "gateway", "198.18.1.1")),
                Map.entry("gateway", Map.of("vni", 7, "cidr", "198.18.0.0/24", "gateway", "198.18.0.0")),
                Map.entry("gateway", Map.of("vni", 7, "cidr", "198.18.0.0/24")));
        for (var e : bad) {
            UdsHttpClient.Response r = put(client, "/v1/tenants/bad/network", e.getValue());
            assertEquals(400, r.status(), r.toString());
            assertEquals("application/problem+json", r.contentType(), r.toString());
            assertTrue(r.json().get("detail").asText().startsWith(e.getKey() + " "), "names " + e.getKey() + ": " + r);
        }
        assertEquals(400, put(client, "/v1/tenants/bad/network", Map.of("vni", 7, "cidr", "198.18.0.0/24", "gateway", "198.18.0.1", "vlan", 3)).status(),
                "an unknown member is an error");
        assertEquals(404, client.get("/v1/tenants/bad/network").status(), "nothing was set up by the bad bodies");
    }

    /** What a failed reachability assertion shows: the guest's console and the tenant namespace's links with counters. */
    private static String diagnostics(UdsHttpClient client, String tenantNs) {
        return "console of net-1:\n" + client.get("/v1/sandboxes/net-1/console").text() + "\nlinks in " + tenantNs + ":\n"
                + Testbed.ip(tenantNs, "-s", "link", "show");
    }

    private static Map<String, Object> settings(Testbed testbed, TestDirs dirs) {
        Map<String, Object> p = dirs.daemonProperties();
        p.put("hostd.warmup-clones", 0);
        p.put("hostd.network.enabled", true);
        p.put("hostd.network.underlay-namespace", testbed.underlayNamespace());
        p.put("hostd.network.local-address", Ipv4.format(Testbed.HOST_UNDERLAY));
        p.put("hostd.network.gateway-address", Ipv4.format(Testbed.GATEWAY_UNDERLAY));
        p.put("hostd.network.host-addresses", Testbed.ENI_NETWORK.toString());
        p.put("hostd.network.namespace-prefix", testbed.prefix() + "t-");
        p.put("hostd.network.tap-pool-size", 1);
        return p;
    }

    private static UdsHttpClient.Response put(UdsHttpClient client, String path, Object body) {
        try {
            return validated(client.send("PUT", path, "application/json", JSON.writeValueAsBytes(body)));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException(e);
        }
    }

    /** Checks the answer against docs/openapi.yaml. */
    private static UdsHttpClient.Response validated(UdsHttpClient.Response r) {
        API.validate(r);
        return r;
    }

    private static JsonNode created(UdsHttpClient.Response r) {
        assertEquals(201, r.status(), r.toString());
        API.validate(r);
        return r.json();
    }

    private static byte[] invoke(UdsHttpClient client, String id, String function, byte[] argument) {
        UdsHttpClient.Response r = client.post("/v1/sandboxes/" + id + "/invoke",
                Map.of("function", function, "argumentBase64", Base64.getEncoder().encodeToString(argument)));
        assertEquals(200, r.status(), r.toString());
        assertEquals("OK", r.json().get("statusName").asText(), r.toString());
        return Base64.getDecoder().decode(r.json().get("outputBase64").asText());
    }
}
