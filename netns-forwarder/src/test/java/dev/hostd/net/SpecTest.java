package dev.hostd.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Bad tenant and forwarder settings are refused with a message naming what is wrong. */
class SpecTest {
    @Test
    void cidrsAndAddressesParseStrictly() {
        assertEquals("198.18.0.0/24", Ipv4Cidr.parse("198.18.0.0/24").toString());
        assertEquals(32, Ipv4Cidr.parse("198.18.0.7").prefixLength());
        assertTrue(message(() -> Ipv4Cidr.parse("198.18.0.1/24")).contains("host bits set; the network is 198.18.0.0/24"));
        assertTrue(message(() -> Ipv4Cidr.parse("198.18.0.0/x")).contains("bad prefix length 'x'"));
        assertTrue(message(() -> Ipv4.parse("198.18.0.256")).contains("bad part '256'"));
        assertTrue(message(() -> Ipv4.parse("198.18.0")).contains("not four"));
    }

    @Test
    void tenantSpecsAreValidated() {
        Ipv4Cidr net = Ipv4Cidr.parse("198.18.0.0/24");
        assertTrue(message(() -> new TenantSpec("a/b", 1, net, Ipv4.parse("198.18.0.1"))).contains("tenant id 'a/b'"));
        assertTrue(message(() -> new TenantSpec("a", 0, net, Ipv4.parse("198.18.0.1"))).contains("VNI"));
        assertTrue(message(() -> new TenantSpec("a", 1 << 24, net, Ipv4.parse("198.18.0.1"))).contains("VNI"));
        assertTrue(message(() -> new TenantSpec("a", 1, net, Ipv4.parse("198.18.1.1"))).contains("gateway 198.18.1.1"));
        assertTrue(message(() -> new TenantSpec("a", 1, net, Ipv4.parse("198.18.0.255"))).contains("gateway"));
        assertTrue(message(() -> new TenantSpec("a", 1, Ipv4Cidr.parse("198.18.0.0/31"), Ipv4.parse("198.18.0.1"))).contains("/8../30"));
    }

    @Test
    void forwarderConfigsAreValidated() {
        assertTrue(message(() -> new ForwarderConfig("bad prefix", null, 1, 2, 4789, 1450, List.of(), 0, false)).contains("namespace prefix"));
        assertTrue(message(() -> new ForwarderConfig("p-", null, 1, 2, 0, 1450, List.of(), 0, false)).contains("VXLAN port"));
        assertTrue(message(() -> new ForwarderConfig("p-", null, 1, 2, 4789, 100, List.of(), 0, false)).contains("MTU"));
        assertTrue(message(() -> new ForwarderConfig("p-", null, 1, 2, 4789, 1450, List.of(), -1, false)).contains("pool"));
    }

    private static String message(Runnable r) {
        return assertThrows(IllegalArgumentException.class, r::run).getMessage();
    }
}
