package dev.hostd.net;

import java.util.List;

/**
 * Frames the forwarder dropped for one sandbox, by reason: a source MAC that is not the sandbox's
 * (Ethernet or ARP sender), a source IPv4 that is not its (IP or ARP sender), IPv4 to a host
 * address, neither IPv4 nor ARP, and over its rate limit (0 without one). Read from the per-TAP
 * element counters of the tenant table's {@code drop_mac}, {@code drop_ip}, {@code drop_host},
 * {@code drop_proto} sets and the counter of the sandbox's {@code rate-<id>} chain.
 */
public record DropCounters(long spoofedMac, long spoofedIp, long toHost, long otherProtocol, long overRate) {
    static final List<String> SET_KINDS = List.of("mac", "ip", "host", "proto");
}
