package dev.hostd.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hostd.net.ForwarderConfig;
import dev.hostd.net.Ipv4;
import dev.hostd.net.TenantSpec;
import org.junit.jupiter.api.Test;

/** Checks of tenant network bodies and of the hostd.network.* settings, without a device: each error names what was wrong. */
class TenantNetworkRequestsTest {

    @Test
    void aGoodBodyBecomesTheTenantsSpec() {
        TenantSpec s = TenantNetworkRequests.validate("t1", new Dto.TenantNetworkRequest(501, "198.18.4.0/22", "198.18.4.1"));
        assertEquals(new TenantSpec("t1", 501, dev.hostd.net.Ipv4Cidr.parse("198.18.4.0/22"), Ipv4.parse("198.18.4.1")), s);
    }

    @Test
    void badBodiesNameTheMember() {
        assertNames("vni", new Dto.TenantNetworkRequest(null, "198.18.0.0/24", "198.18.0.1"));
        assertNames("vni", new Dto.TenantNetworkRequest(16_777_216, "198.18.0.0/24", "198.18.0.1"));
        assertNames("cidr", new Dto.TenantNetworkRequest(1, null, "198.18.0.1"));
        assertNames("cidr", new Dto.TenantNetworkRequest(1, "198.18.0.0/7", "198.18.0.1"));
        assertNames("cidr", new Dto.TenantNetworkRequest(1, "198.18.0.0/", "198.18.0.1"));
        assertNames("cidr", new Dto.TenantNetworkRequest(1, "198.18.0.1/24", "198.18.0.1"));
        assertNames("gateway", new Dto.TenantNetworkRequest(1, "198.18.0.0/24", "198.18.0.255"));
        assertNames("gateway", new Dto.TenantNetworkRequest(1, "198.18.0.0/24", "gw"));
        assertNames("tenant", "-bad", new Dto.TenantNetworkRequest(1, "198.18.0.0/24", "198.18.0.1"));
        assertTrue(thrown("t", null).getMessage().contains("JSON body"));
    }

    @Test
    void settingsNameTheKey() {
        ForwarderConfig c = new SandboxNetworks.NetworkSettings("", "198.19.255.1", "198.19.255.2", "10.0.0.0/8, 192.0.2.7", "hostd-t-", 4789, 1450, 2)
                .forwarderConfig();
        assertEquals(null, c.underlayNamespace());
        assertEquals(2, c.hostAddresses().size());
        assertTrue(c.vnetHeader(), "the VMM's virtio-net device reads and writes virtio-net headers");
        assertKey("hostd.network.local-address", new SandboxNetworks.NetworkSettings("", "", "198.19.255.2", "", "hostd-t-", 4789, 1450, 2));
        assertKey("hostd.network.gateway-address", new SandboxNetworks.NetworkSettings("", "198.19.255.1", "1.2.3", "", "hostd-t-", 4789, 1450, 2));
        assertKey("hostd.network.host-addresses", new SandboxNetworks.NetworkSettings("", "198.19.255.1", "198.19.255.2", "10.0.0.0/33", "hostd-t-", 4789, 1450, 2));
        assertKey("MTU", new SandboxNetworks.NetworkSettings("", "198.19.255.1", "198.19.255.2", "", "hostd-t-", 4789, 100, 2));
    }

    private static void assertKey(String key, SandboxNetworks.NetworkSettings s) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, s::forwarderConfig);
        assertTrue(e.getMessage().contains(key), e.getMessage());
    }

    private static void assertNames(String member, Dto.TenantNetworkRequest r) {
        assertNames(member, "t1", r);
    }

    private static void assertNames(String member, String tenant, Dto.TenantNetworkRequest r) {
        ApiException e = thrown(tenant, r);
        assertEquals(ProblemCode.INVALID_INPUT, e.code());
        assertTrue(e.getMessage().startsWith(member + " "), e.getMessage());
    }

    private static ApiException thrown(String tenant, Dto.TenantNetworkRequest r) {
        return assertThrows(ApiException.class, () -> TenantNetworkRequests.validate(tenant, r));
    }
}
