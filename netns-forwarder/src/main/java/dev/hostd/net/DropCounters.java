package dev.hostd.net;

import java.util.List;

/**
 * Frames the forwarder dropped for one sandbox, by reason (its nftables named counters
 * {@code sbx-<id>-<kind>}): a source MAC that is not the sandbox's (Ethernet or ARP), a source
 * IPv4 that is not its (IP or ARP), IPv4 to a host address, over its rate limit, and neither
 * IPv4 nor ARP.
 */
public record DropCounters(long spoofedMac, long spoofedIp, long toHost, long overRate, long otherProtocol) {
    static final List<String> KINDS = List.of("mac", "ip", "host", "rate", "proto");
}
