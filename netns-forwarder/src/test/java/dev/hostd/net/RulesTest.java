package dev.hostd.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RulesTest {
    static final Lease LEASE = new Lease("t", "sb-1", new byte[] {2, 0, 0, 0, 0, 1}, Ipv4.parse("198.18.0.2"), 24, Ipv4.parse("198.18.0.1"));

    @Test
    void attachPairsTheTapWithTheLeaseAndMarksItAssignedLast() {
        String r = Rules.attach("tabc1", LEASE, 0);
        assertTrue(r.contains("add element bridge hostd port_mac { \"tabc1\" . 02:00:00:00:00:01 }"), r);
        assertTrue(r.contains("add element bridge hostd port_ip { \"tabc1\" . 198.18.0.2 }"), r);
        for (String kind : DropCounters.SET_KINDS) {
            assertTrue(r.contains("add element bridge hostd drop_" + kind + " { \"tabc1\" }"), kind);
        }
        assertTrue(r.strip().endsWith("add element bridge hostd ports { \"tabc1\" comment \"sb-1\" }"), "assigned only once its pairs exist: " + r);
        assertFalse(r.contains("limit") || r.contains("chain"), "no rate limit asked, so no rule or chain is added");
    }

    @Test
    void aRateLimitAddsTheSandboxsOwnChainInTheRateMap() {
        String r = Rules.attach("tabc1", LEASE, 125000);
        assertTrue(r.contains("add rule bridge hostd rate-sb-1 limit rate over 125000 bytes/second counter drop"), r);
        assertTrue(r.contains("add element bridge hostd rate_ports { \"tabc1\" : jump rate-sb-1 }"), r);
        String d = Rules.detach("tabc1", LEASE, true);
        assertTrue(d.indexOf("delete element bridge hostd rate_ports { \"tabc1\" }") < d.indexOf("delete chain bridge hostd rate-sb-1"), d);
    }

    @Test
    void detachUnassignsFirstThenRemovesEveryElement() {
        String r = Rules.detach("tabc1", LEASE, false);
        assertTrue(r.startsWith("delete element bridge hostd ports { \"tabc1\" }"), r);
        assertTrue(r.contains("delete element bridge hostd port_mac { \"tabc1\" . 02:00:00:00:00:01 }"));
        assertTrue(r.contains("delete element bridge hostd port_ip { \"tabc1\" . 198.18.0.2 }"));
        assertEquals(4, r.lines().filter(l -> l.contains(" drop_")).count());
        assertFalse(r.contains("chain"));
    }

    @Test
    void theBaseRulesCheckEverySourceFieldAndDropUnassignedTaps() {
        String r = Rules.base(List.of(Ipv4Cidr.parse("10.0.0.0/8"), Ipv4Cidr.parse("198.19.255.1/32")));
        assertTrue(r.contains("add element bridge hostd host_addrs { 10.0.0.0/8, 198.19.255.1/32 }"));
        List<String> order = List.of("iifname != \"t*\" accept", "iifname != @ports counter name \"unassigned\" drop",
                "iifname . ether saddr != @port_mac iifname @drop_mac drop", "iifname . arp saddr ether != @port_mac iifname @drop_mac drop",
                "iifname . arp saddr ip != @port_ip iifname @drop_ip drop", "iifname . ip saddr != @port_ip iifname @drop_ip drop",
                "ip daddr @host_addrs iifname @drop_host drop", "iifname vmap @rate_ports", "ether type { ip, arp } accept", "iifname @drop_proto drop");
        int at = -1;
        for (String rule : order) {
            int i = r.indexOf("prerouting " + rule + "\n");
            assertTrue(i > at, "rule missing or out of order: " + rule);
            at = i;
        }
        assertFalse(Rules.base(List.of()).contains("add element"), "an empty set gets no element statement");
    }

    @Test
    void listingsAreParsedForPortsPairsAndCounters() {
        String ports = """
                table bridge hostd {
                	set ports {
                		type ifname
                		elements = { "tabc1" comment "sb-1", "tabc2" comment "sb-10",
                			     "tabc3" comment "x.y_z" }
                	}
                }
                """;
        assertEquals(Map.of("tabc1", "sb-1", "tabc2", "sb-10", "tabc3", "x.y_z"), Rules.ports(ports));
        String macs = "elements = { \"tabc1\" . 02:00:00:00:00:01, \"tabc10\" . 02:00:00:00:00:0a }";
        assertEquals(List.of("02:00:00:00:00:01"), Rules.pairedWith(macs, "tabc1"));
        assertEquals(List.of(), Rules.pairedWith(macs, "tabc2"));
        String drops = "elements = { \"tabc1\" counter packets 3 bytes 180, \"tabc10\" counter packets 0 bytes 0 }";
        assertEquals(3, Rules.elementPackets(drops, "tabc1"));
        assertEquals(0, Rules.elementPackets(drops, "tabc10"));
        assertEquals(-1, Rules.elementPackets(drops, "tabc2"));
        assertEquals(42, Rules.packets("counter unassigned {\n\t\tpackets 42 bytes 2520\n\t}"));
        assertThrows(NetException.class, () -> Rules.packets("nothing"));
    }
}
