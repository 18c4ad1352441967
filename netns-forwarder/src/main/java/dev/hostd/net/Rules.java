package dev.hostd.net;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The nftables rules of a tenant namespace, as text for libnftables. One bridge-family table,
 * {@code hostd}, filters every frame a sandbox sends before the bridge forwards it (prerouting):
 * a verdict map sends each TAP to its sandbox's chain, which drops and counts frames whose source
 * MAC or IPv4 (Ethernet, ARP and IP headers) is not the sandbox's, IPv4 to host addresses, and
 * anything but IPv4 and ARP. TAPs in no sandbox's map entry (pooled, or left by a crash) are
 * dropped and counted as "unassigned".
 */
final class Rules {
    static final String TABLE = "bridge hostd";
    /** Every TAP the forwarder makes starts with this; nothing else in a tenant namespace does. */
    static final String TAP_PREFIX = "t";
    // Chain and counter names are "sbx-<sandbox id>": ids are [A-Za-z0-9._-], so the names are
    // plain nft identifiers (nft 1.0.6 accepts no quoted names in "add counter").
    private static final Pattern CHAIN = Pattern.compile("chain \"?sbx-([A-Za-z0-9._-]+)\"? \\{");

    private Rules() {}

    /** The tenant's base table; idempotent ({@code add} of what exists is no error). */
    static String base(List<Ipv4Cidr> hostAddresses) {
        StringBuilder b = new StringBuilder();
        b.append("add table ").append(TABLE).append('\n');
        b.append("add set ").append(TABLE).append(" host_addrs { type ipv4_addr; flags interval; auto-merge; }\n");
        b.append("flush set ").append(TABLE).append(" host_addrs\n");
        if (!hostAddresses.isEmpty()) {
            b.append("add element ").append(TABLE).append(" host_addrs { ")
                    .append(hostAddresses.stream().map(Ipv4Cidr::toString).collect(Collectors.joining(", "))).append(" }\n");
        }
        b.append("add map ").append(TABLE).append(" ports { type ifname : verdict; }\n");
        b.append("add counter ").append(TABLE).append(" unassigned\n");
        b.append("add chain ").append(TABLE).append(" prerouting { type filter hook prerouting priority -200; policy accept; }\n");
        b.append("flush chain ").append(TABLE).append(" prerouting\n");
        b.append("add rule ").append(TABLE).append(" prerouting iifname vmap @ports\n");
        b.append("add rule ").append(TABLE).append(" prerouting iifname \"").append(TAP_PREFIX).append("*\" counter name \"unassigned\" drop\n");
        return b.toString();
    }

    /** A sandbox's chain, counters and map entry, in one transaction. */
    static String attach(String tap, Lease lease, long bytesPerSecond) {
        String id = lease.sandboxId(), chain = "sbx-" + id, mac = lease.macText(), ip = lease.ipText();
        String rule = "add rule " + TABLE + " " + chain + " ";
        StringBuilder b = new StringBuilder();
        for (String kind : DropCounters.KINDS) {
            b.append("add counter ").append(TABLE).append(' ').append(counter(id, kind)).append('\n');
        }
        b.append("add chain ").append(TABLE).append(' ').append(chain).append('\n');
        b.append(rule).append("ether saddr != ").append(mac).append(" counter name ").append(counter(id, "mac")).append(" drop\n");
        b.append(rule).append("arp saddr ether != ").append(mac).append(" counter name ").append(counter(id, "mac")).append(" drop\n");
        b.append(rule).append("arp saddr ip != ").append(ip).append(" counter name ").append(counter(id, "ip")).append(" drop\n");
        b.append(rule).append("ip saddr != ").append(ip).append(" counter name ").append(counter(id, "ip")).append(" drop\n");
        b.append(rule).append("ip daddr @host_addrs counter name ").append(counter(id, "host")).append(" drop\n");
        if (bytesPerSecond > 0) {
            b.append(rule).append("limit rate over ").append(bytesPerSecond).append(" bytes/second counter name ")
                    .append(counter(id, "rate")).append(" drop\n");
        }
        b.append(rule).append("ether type { ip, arp } accept\n");
        b.append(rule).append("counter name ").append(counter(id, "proto")).append(" drop\n");
        b.append("add element ").append(TABLE).append(" ports { \"").append(tap).append("\" : jump ").append(chain).append(" }\n");
        return b.toString();
    }

    /** Removes what {@link #attach} made; the map entry goes first (it references the chain). */
    static String detach(List<String> taps, String sandboxId) {
        StringBuilder b = new StringBuilder();
        for (String tap : taps) {
            b.append("delete element ").append(TABLE).append(" ports { \"").append(tap).append("\" }\n");
        }
        b.append("delete chain ").append(TABLE).append(" sbx-").append(sandboxId).append('\n');
        for (String kind : DropCounters.KINDS) {
            b.append("delete counter ").append(TABLE).append(' ').append(counter(sandboxId, kind)).append('\n');
        }
        return b.toString();
    }

    static String counter(String sandboxId, String kind) {
        return "sbx-" + sandboxId + "-" + kind;
    }

    /** Sandbox ids that have a chain in a listing of the table. */
    static Set<String> sandboxChains(String listing) {
        Set<String> ids = new TreeSet<>();
        Matcher m = CHAIN.matcher(listing);
        while (m.find()) {
            ids.add(m.group(1));
        }
        return ids;
    }

    /** TAP names that map to {@code sandboxId}'s chain in a listing of the table. */
    static List<String> tapsOf(String listing, String sandboxId) {
        List<String> taps = new ArrayList<>();
        Matcher m = Pattern.compile("\"([^\"]+)\" : jump \"?sbx-" + Pattern.quote(sandboxId) + "\"?(?=[,\\s}])").matcher(listing);
        while (m.find()) {
            taps.add(m.group(1));
        }
        return taps;
    }

    /** Packets of counter {@code name} in the output of {@code list counter}. */
    static long packets(String listing) {
        Matcher m = Pattern.compile("packets (\\d+)").matcher(listing);
        if (!m.find()) {
            throw new NetException("nft list counter", "no packet count in nft output: " + listing);
        }
        return Long.parseLong(m.group(1));
    }
}
