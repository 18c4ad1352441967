package dev.hostd.net;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The nftables rules of a tenant namespace, as text for libnftables. One bridge-family table,
 * {@code hostd}, filters every frame a sandbox sends before the bridge forwards it (prerouting).
 * The rules are fixed; a sandbox is only elements of sets keyed by its TAP's name:
 * {@code ports} (TAPs that belong to a sandbox, with the sandbox id as comment), {@code port_mac}
 * (TAP . MAC) and {@code port_ip} (TAP . IPv4). Frames whose Ethernet/ARP source MAC or IP/ARP
 * source address is not the TAP's pair, IPv4 to host addresses, and anything but IPv4 and ARP are
 * dropped and counted per sandbox by per-element counters of the {@code drop_*} sets; TAPs in
 * no sandbox's entry are dropped and counted by the named counter {@code unassigned}.
 *
 * <p>Why sets and not a chain and named counters per sandbox: libnftables 1.0.6 reads the table's
 * chains, rules and named objects from the kernel into its cache before every command, so the cost
 * of an attach grew with the sandboxes present (measured: 0.8 ms with none, 4.8 ms with 400 chains,
 * 53 ms with 2,000 sandboxes' named counters); adding elements to plain sets stayed at 0.17 ms with
 * 2,000 present. A sandbox with a rate limit also gets a small chain of its own (few do).
 */
public final class Rules {
    static final String TABLE = "bridge hostd";
    /** Every TAP the forwarder makes starts with this; nothing else in a tenant namespace does. */
    static final String TAP_PREFIX = "t";
    private static final Pattern PORT = Pattern.compile("\"([^\"]+)\" comment \"([^\"]+)\"");

    private Rules() {}

    /** The tenant's base table; idempotent ({@code add} of what exists is no error). */
    static String base(List<Ipv4Cidr> hostAddresses) {
        String t = TABLE;
        StringBuilder b = new StringBuilder();
        b.append("add table ").append(t).append('\n');
        b.append("add set ").append(t).append(" host_addrs { type ipv4_addr; flags interval; auto-merge; }\n");
        b.append("flush set ").append(t).append(" host_addrs\n");
        if (!hostAddresses.isEmpty()) {
            b.append("add element ").append(t).append(" host_addrs { ")
                    .append(hostAddresses.stream().map(Ipv4Cidr::toString).collect(Collectors.joining(", "))).append(" }\n");
        }
        b.append("add set ").append(t).append(" ports { type ifname; }\n");
        b.append("add set ").append(t).append(" port_mac { type ifname . ether_addr; }\n");
        b.append("add set ").append(t).append(" port_ip { type ifname . ipv4_addr; }\n");
        for (String kind : DropCounters.SET_KINDS) {
            b.append("add set ").append(t).append(" drop_").append(kind).append(" { type ifname; counter; }\n");
        }
        b.append("add map ").append(t).append(" rate_ports { type ifname : verdict; }\n");
        b.append("add counter ").append(t).append(" unassigned\n");
        b.append("add chain ").append(t).append(" prerouting { type filter hook prerouting priority -200; policy accept; }\n");
        b.append("flush chain ").append(t).append(" prerouting\n");
        String rule = "add rule " + t + " prerouting ";
        b.append(rule).append("iifname != \"").append(TAP_PREFIX).append("*\" accept\n");
        b.append(rule).append("iifname != @ports counter name \"unassigned\" drop\n");
        b.append(rule).append("iifname . ether saddr != @port_mac iifname @drop_mac drop\n");
        b.append(rule).append("iifname . arp saddr ether != @port_mac iifname @drop_mac drop\n");
        b.append(rule).append("iifname . arp saddr ip != @port_ip iifname @drop_ip drop\n");
        b.append(rule).append("iifname . ip saddr != @port_ip iifname @drop_ip drop\n");
        b.append(rule).append("ip daddr @host_addrs iifname @drop_host drop\n");
        b.append(rule).append("iifname vmap @rate_ports\n");
        b.append(rule).append("ether type { ip, arp } accept\n");
        b.append(rule).append("iifname @drop_proto drop\n");
        return b.toString();
    }

    /** A sandbox's set elements (and rate chain), in one transaction; the ports entry comes last. */
    public static String attach(String tap, Lease lease, long bytesPerSecond) {
        String t = TABLE, key = "\"" + tap + "\"";
        StringBuilder b = new StringBuilder();
        b.append("add element ").append(t).append(" port_mac { ").append(key).append(" . ").append(lease.macText()).append(" }\n");
        b.append("add element ").append(t).append(" port_ip { ").append(key).append(" . ").append(lease.ipText()).append(" }\n");
        for (String kind : DropCounters.SET_KINDS) {
            b.append("add element ").append(t).append(" drop_").append(kind).append(" { ").append(key).append(" }\n");
        }
        if (bytesPerSecond > 0) {
            String chain = rateChain(lease.sandboxId());
            b.append("add chain ").append(t).append(' ').append(chain).append('\n');
            b.append("add rule ").append(t).append(' ').append(chain).append(" limit rate over ").append(bytesPerSecond)
                    .append(" bytes/second counter drop\n");
            b.append("add element ").append(t).append(" rate_ports { ").append(key).append(" : jump ").append(chain).append(" }\n");
        }
        b.append("add element ").append(t).append(" ports { ").append(key).append(" comment \"").append(lease.sandboxId()).append("\" }\n");
        return b.toString();
    }

    /** Removes what {@link #attach} made; the ports entry goes first (the TAP then counts as unassigned). */
    public static String detach(String tap, Lease lease, boolean rateLimited) {
        return detach(tap, lease.sandboxId(), lease.macText(), lease.ipText(), rateLimited);
    }

    static String detach(String tap, String sandboxId, String mac, String ip, boolean rateLimited) {
        String t = TABLE, key = "\"" + tap + "\"";
        StringBuilder b = new StringBuilder();
        b.append("delete element ").append(t).append(" ports { ").append(key).append(" }\n");
        if (mac != null) {
            b.append("delete element ").append(t).append(" port_mac { ").append(key).append(" . ").append(mac).append(" }\n");
        }
        if (ip != null) {
            b.append("delete element ").append(t).append(" port_ip { ").append(key).append(" . ").append(ip).append(" }\n");
        }
        for (String kind : DropCounters.SET_KINDS) {
            b.append("delete element ").append(t).append(" drop_").append(kind).append(" { ").append(key).append(" }\n");
        }
        if (rateLimited) {
            b.append("delete element ").append(t).append(" rate_ports { ").append(key).append(" }\n");
            b.append("delete chain ").append(t).append(' ').append(rateChain(sandboxId)).append('\n');
        }
        return b.toString();
    }

    /** Chain names are "rate-<sandbox id>": ids are [A-Za-z0-9._-], so these are plain nft identifiers. */
    static String rateChain(String sandboxId) {
        return "rate-" + sandboxId;
    }

    /** TAP → sandbox id of every entry in a listing of the {@code ports} set. */
    static Map<String, String> ports(String listing) {
        Map<String, String> ports = new LinkedHashMap<>();
        Matcher m = PORT.matcher(listing);
        while (m.find()) {
            ports.put(m.group(1), m.group(2));
        }
        return ports;
    }

    /** The values paired with {@code tap} in a listing of a concatenated set ({@code "tap" . value}). */
    static List<String> pairedWith(String listing, String tap) {
        List<String> values = new ArrayList<>();
        Matcher m = Pattern.compile("\"" + Pattern.quote(tap) + "\" \\. ([0-9a-fA-F:.]+)").matcher(listing);
        while (m.find()) {
            values.add(m.group(1));
        }
        return values;
    }

    /** The packet count of {@code tap}'s element in a listing of a set with counters; -1 if absent. */
    static long elementPackets(String listing, String tap) {
        Matcher m = Pattern.compile("\"" + Pattern.quote(tap) + "\" counter packets (\\d+)").matcher(listing);
        return m.find() ? Long.parseLong(m.group(1)) : -1;
    }

    /** The first packet count in a listing (a named counter, or the rule counter of a rate chain). */
    static long packets(String listing) {
        Matcher m = Pattern.compile("packets (\\d+)").matcher(listing);
        if (!m.find()) {
            throw new NetException("nft list", "no packet count in nft output: " + listing);
        }
        return Long.parseLong(m.group(1));
    }
}
