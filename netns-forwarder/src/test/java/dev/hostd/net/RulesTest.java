package dev.hostd.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RulesTest {
    static final Lease LEASE = new Lease("t", "sb-1", new byte[] {2, 0, 0, 0, 0, 1}, Ipv4.parse("198.18.0.2"), 24, Ipv4.parse("198.18.0.1"));

    @Test
    void attachChecksEverySourceFieldAgainstTheLeaseAndMapsTheTap() {
        String r = Rules.attach("tabc1", LEASE, 0);
        assertTrue(r.contains("ether saddr != 02:00:00:00:00:01 counter name sbx-sb-1-mac drop"));
        assertTrue(r.contains("arp saddr ether != 02:00:00:00:00:01 counter name sbx-sb-1-mac drop"));
        assertTrue(r.contains("arp saddr ip != 198.18.0.2 counter name sbx-sb-1-ip drop"));
        assertTrue(r.contains("ip saddr != 198.18.0.2 counter name sbx-sb-1-ip drop"));
        assertTrue(r.contains("ip daddr @host_addrs counter name sbx-sb-1-host drop"));
        assertTrue(r.contains("add element bridge hostd ports { \"tabc1\" : jump sbx-sb-1 }"));
        assertFalse(r.contains("limit"), "no rate limit asked");
        assertTrue(r.indexOf("ether type { ip, arp } accept") < r.indexOf("counter name sbx-sb-1-proto drop"), "other protocols dropped last");
    }

    @Test
    void rateLimitComesBeforeTheAccept() {
        String r = Rules.attach("tabc1", LEASE, 125000);
        assertTrue(r.indexOf("limit rate over 125000 bytes/second counter name sbx-sb-1-rate drop") < r.indexOf("accept"));
    }

    @Test
    void detachRemovesMapEntryBeforeChainAndCountersLast() {
        String r = Rules.detach(List.of("tabc1"), "sb-1");
        int element = r.indexOf("delete element bridge hostd ports { \"tabc1\" }"), chain = r.indexOf("delete chain bridge hostd sbx-sb-1\n");
        assertTrue(element >= 0 && chain > element, r);
        for (String kind : DropCounters.KINDS) {
            assertTrue(r.indexOf("delete counter bridge hostd sbx-sb-1-" + kind) > chain, kind);
        }
    }

    @Test
    void baseDropsUnmappedTapsAndListsHostAddresses() {
        String r = Rules.base(List.of(Ipv4Cidr.parse("10.0.0.0/8"), Ipv4Cidr.parse("198.19.255.1/32")));
        assertTrue(r.contains("add element bridge hostd host_addrs { 10.0.0.0/8, 198.19.255.1/32 }"));
        assertTrue(r.indexOf("iifname vmap @ports") < r.indexOf("iifname \"t*\" counter name \"unassigned\" drop"));
        assertFalse(Rules.base(List.of()).contains("add element"), "an empty set gets no element statement");
    }

    @Test
    void listingsAreParsedForChainsTapsAndCounters() {
        String listing = """
                table bridge hostd {
                	map ports {
                		type ifname : verdict
                		elements = { "tabc1" : jump sbx-sb-1, "tabc2" : jump sbx-sb-10,
                			     "tabc3" : jump sbx-sb-1 }
                	}
                	chain sbx-sb-1 {
                	}
                	chain sbx-sb-10 {
                	}
                	chain prerouting {
                	}
                }
                """;
        assertEquals(Set.of("sb-1", "sb-10"), Rules.sandboxChains(listing));
        assertEquals(List.of("tabc1", "tabc3"), Rules.tapsOf(listing, "sb-1"));
        assertEquals(List.of("tabc2"), Rules.tapsOf(listing, "sb-10"));
        assertEquals(42, Rules.packets("counter unassigned {\n\t\tpackets 42 bytes 2520\n\t}"));
        assertThrows(NetException.class, () -> Rules.packets("nothing"));
    }
}
