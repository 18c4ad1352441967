package dev.hostd.bench;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/** Formats the network benchmark's tables, JSON line and docs/benchmarks/network.md. */
final class NetworkReport {
    private NetworkReport() {}

    static String table(List<String> latencyRows, List<String> throughputRows) {
        StringBuilder b = new StringBuilder();
        b.append("| attach latency (ms)                          |     n |     p50 |     p99 |    mean |\n");
        b.append("|----------------------------------------------|-------|---------|---------|---------|\n");
        latencyRows.forEach(r -> b.append(r).append('\n'));
        b.append('\n');
        b.append("| UDP from a raw frame generator               | frame B |  sent pkt/s | delivered pkt/s | socket pkt/s | Mbit/s |\n");
        b.append("|----------------------------------------------|---------|-------------|-----------------|--------------|--------|\n");
        throughputRows.forEach(r -> b.append(r).append('\n'));
        return b.toString();
    }

    static String json(Map<String, Object> values) {
        return values.entrySet().stream().map(e -> "\"" + e.getKey() + "\":" + e.getValue())
                .collect(Collectors.joining(",", "{\"benchmark\":\"network\",", "}"));
    }

    /** The 1-minute load average when the run started: these hosts are shared, so it says how quiet the run was. */
    static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
        } catch (IOException e) {
            return "unknown";
        }
    }

    static void writeMarkdown(Path file, String table, String jsonLine, Map<String, Object> v, int attaches, int forks, double seconds,
                              String loadAtStart) throws IOException {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            host = "unknown";
        }
        double p50 = ((Number) v.get("attach_pooled_ms_p50")).doubleValue(), p50Unpooled = ((Number) v.get("attach_unpooled_ms_p50")).doubleValue();
        String md = """
                # Network benchmark

                Latest run: %s on `%s` (%d cores), JDK %s. Produced by `dev.hostd.bench.NetworkBenchmark`;
                re-run with:

                ```
                scripts/bench-network
                ```

                (`-Dbench.attaches=%d -Dbench.forks=%d -Dbench.seconds=%s` were this run's settings; 1-minute load
                average at its start: %s on %d cores, other work was running.) Everything runs in
                namespaces the benchmark makes and deletes, addresses from 198.18.0.0/15: an underlay namespace
                holding the ENI veth, a gateway namespace terminating VXLAN VNI 201 into a VPC namespace, and the
                tenant namespace the forwarder makes (see docs/network.md).

                **Attach** is `Forwarder.attach` (lease, TAP, bridge port up, nftables chain, counters and map
                entry), each followed by an untimed detach. "made ahead" takes a TAP from the tenant's pool
                (refilled in the background on the tenant's namespace thread); "at attach" opens /dev/net/tun,
                TUNSETIFF and sets master/MTU by rtnetlink first. The baseline forks the same steps as processes:
                `ip tuntap add`, `ip link set … master hbr mtu 1450 up`, `nft -f -` with the same rules.

                **Throughput**: one thread writes the same UDP frame (to 198.19.0.10:9000 in the VPC) as fast
                as it can, for %s s per row, on the sandbox's TAP fd (a guest's virtio-net back-end does these
                writes) through the forwarder: TAP → bridge with the sandbox's anti-spoofing chain → VXLAN →
                ENI veth → gateway namespace → VPC namespace. The baseline writes the same frame over a plain veth
                pair (an AF_PACKET socket on one end, the sink address on the other). "delivered" is the
                receiving device's rx_packets (the VPC's VXLAN device; the veth's far end); "socket" is what a
                Java UDP socket draining the sink got (it cannot keep up with small frames, so it is shown, not
                used for the ratio). Mbit/s counts the inner Ethernet frame. Both paths share the 2 cores with
                the generator, so these are the CPU cost of the path rather than a line rate.

                **Guest rows**: the same, sent by a real test guest (a clone of the test guest with virtio-net,
                its own ARP/IPv4/UDP stack, its `udpflood` function, the lease's MAC and address) on a TAP the
                forwarder handed out, against the same guest on a TAP bridged to the plain veth pair. "sent" is
                what the guest's driver handed to the device per second of its flood; "delivered" is counted
                as above. Here the guest's virtio-net device (vCPU exits, the back-end's event loop) is part of
                both paths.

                %s
                ```json
                %s
                ```

                ## Targets (issue 5)

                | target | measured | met |
                |---|---|---|
                | attach p50 ≤ 1 ms, no forked process | %s ms with a TAP pool; %s ms without | %s |
                | forwarder vs plain veth, same run (raw generator) | %s× (60-byte frames), %s× (1,442-byte frames) packets/s | reported |
                | forwarder vs plain veth, same run (test guest) | %s× (60-byte frames), %s× (1,442-byte frames) packets/s | reported |
                """.formatted(Instant.now().truncatedTo(ChronoUnit.SECONDS), host, Runtime.getRuntime().availableProcessors(),
                Runtime.version(), attaches, forks, fmt(seconds), loadAtStart, Runtime.getRuntime().availableProcessors(), fmt(seconds), table, jsonLine, v.get("attach_pooled_ms_p50"),
                v.get("attach_unpooled_ms_p50"), p50 <= 1 ? (p50Unpooled <= 1 ? "yes (both)" : "yes (pooled)") : "**no**",
                v.get("udp18_forwarder_to_veth_ratio_pps"), v.get("udp1400_forwarder_to_veth_ratio_pps"),
                v.getOrDefault("guest_udp18_forwarder_to_veth_ratio_pps", "n/a"), v.getOrDefault("guest_udp1400_forwarder_to_veth_ratio_pps", "n/a"));
        Files.createDirectories(file.toAbsolutePath().getParent());
        Files.writeString(file, md);
    }

    private static String fmt(double d) {
        return String.format(Locale.ROOT, "%s", d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d));
    }
}
