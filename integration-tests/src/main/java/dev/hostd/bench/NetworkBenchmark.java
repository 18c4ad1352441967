package dev.hostd.bench;

import dev.hostd.net.Forwarder;
import dev.hostd.net.Ipv4;
import dev.hostd.net.Ipv4Cidr;
import dev.hostd.net.Lease;
import dev.hostd.net.SandboxPort;
import dev.hostd.net.TenantSpec;
import dev.hostd.net.testbed.FakeGuest;
import dev.hostd.net.testbed.Frames;
import dev.hostd.net.testbed.Testbed;
import dev.hostd.vmm.device.net.Tap;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The network benchmark of issue 5, in one run, in namespaces it makes and deletes: sandbox attach
 * latency (TAP made ahead, TAP made at attach, and the same steps forked as iproute2/nft processes),
 * then UDP packets/s and Mbit/s from a raw frame generator on a sandbox's TAP fd through the
 * forwarder (TAP, bridge, rules, VXLAN, ENI veth, gateway, VPC namespace) against the same frames
 * sent over a plain veth pair, and the same with a real test guest (virtio-net, its own stack) as
 * the sender when /dev/kvm is there. Prints a table and a JSON line, writes docs/benchmarks/network.md.
 * Run: {@code scripts/bench-network}.
 */
public final class NetworkBenchmark {
    static final Ipv4Cidr SUBNET = Ipv4Cidr.parse("198.18.0.0/20"); // room for the live sandboxes
    static final int GATEWAY = Ipv4.parse("198.18.0.1"), SINK = Ipv4.parse("198.19.0.10"), SINK_PORT = 9000;

    public static void main(String[] args) throws Exception {
        int n = Integer.getInteger("bench.attaches", 1000);
        int forks = Integer.getInteger("bench.forks", 200);
        int live = Integer.getInteger("bench.live", 1000);
        double seconds = Double.parseDouble(System.getProperty("bench.seconds", "3"));
        Path report = Path.of(System.getProperty("bench.report", "docs/benchmarks/network.md"));
        String loadAtStart = NetworkReport.loadAverage();
        Map<String, Object> json = new LinkedHashMap<>();
        List<String> latencyRows = new ArrayList<>();
        List<String> throughputRows = new ArrayList<>();
        try (Testbed testbed = Testbed.create()) {
            String vpc = testbed.addVpc("bench", 201, SUBNET, GATEWAY, SINK);
            TenantSpec tenant = new TenantSpec("bench", 201, SUBNET, GATEWAY);

            Stats pooled, unpooled, among;
            try (Forwarder f = Forwarder.open(testbed.forwarderConfig(8))) {
                f.addTenant(tenant);
                AttachLatency.cycle(f, "warm", 300);
                pooled = AttachLatency.cycle(f, "pooled", n);
                among = AttachLatency.cycleAmong(f, live, n);
            }
            try (Forwarder f = Forwarder.open(testbed.forwarderConfig(0))) {
                f.addTenant(tenant); // adopts the namespace the first forwarder made
                AttachLatency.cycle(f, "warm", 100);
                unpooled = AttachLatency.cycle(f, "unpooled", n);
                String ns = f.namespaceOf("bench");
                Stats[] forked = AttachLatency.forked(ns, forks);
                latencyRows.add(row("attach, TAP made ahead (pool of 8)", pooled));
                latencyRows.add(row("attach, pool of 8, " + live + " sandboxes attached", among));
                latencyRows.add(row("attach, TAP made at attach (no pool)", unpooled));
                latencyRows.add(row("fork: ip tuntap add (alone)", forked[0]));
                latencyRows.add(row("fork: ip tuntap add + ip link set + nft -f", forked[1]));
                put(json, "attach_pooled", pooled);
                put(json, "attach_unpooled", unpooled);
                put(json, "attach_pooled_among_" + live, among);
                put(json, "fork_tuntap_add", forked[0]);
                put(json, "fork_full_attach", forked[1]);
                json.put("fork_full_to_pooled_ratio_p50", round(forked[1].p50() / pooled.p50()));
                json.put("fork_full_to_unpooled_ratio_p50", round(forked[1].p50() / unpooled.p50()));

                try (SandboxPort port = f.attach("bench", "gen"); FakeGuest guest = new FakeGuest(port);
                     Throughput.Sink sink = Throughput.Sink.open(vpc, SINK_PORT, SINK);
                     Throughput.VethPair veth = Throughput.VethPair.create(testbed.prefix(), SINK, SINK_PORT)) {
                    byte[] gatewayMac = guest.resolveGateway(3000);
                    if (gatewayMac == null) {
                        throw new IllegalStateException("the VPC gateway did not answer ARP through the forwarder");
                    }
                    for (int payload : new int[] {18, 1400}) {
                        byte[] frame = Frames.udp(guest.mac(), gatewayMac, guest.ip(), SINK, 40000, SINK_PORT, new byte[payload]);
                        Throughput.warm(port.tapFd(), frame);
                        Throughput.Result fwd = Throughput.run(port.tapFd(), frame, seconds, vpc, "gv201", sink);
                        byte[] plain = Frames.udp(veth.senderMac(), veth.receiverMac(), guest.ip(), SINK, 40000, SINK_PORT, new byte[payload]);
                        Throughput.warm(veth.packetFd(), plain);
                        Throughput.Result base = Throughput.run(veth.packetFd(), plain, seconds, veth.receiverNamespace(), "vr0", veth.sink());
                        String k = "udp" + payload + "_";
                        throughputRows.add(Throughput.row("forwarder (TAP→bridge→VXLAN→gateway→VPC)", frame.length, fwd));
                        throughputRows.add(Throughput.row("plain veth pair (AF_PACKET→veth→namespace)", plain.length, base));
                        fwd.put(json, k + "forwarder_", frame.length);
                        base.put(json, k + "veth_", plain.length);
                        json.put(k + "forwarder_to_veth_ratio_pps", round(fwd.devicePps() / base.devicePps()));
                    }
                    guestRows(f, vpc, veth, throughputRows, json);
                }
            }
        }
        String table = NetworkReport.table(latencyRows, throughputRows);
        String jsonLine = NetworkReport.json(json);
        System.out.println(table);
        System.out.println(jsonLine);
        NetworkReport.writeMarkdown(report, table, jsonLine, json, n, forks, seconds, loadAtStart);
    }

    /** The same comparison with a real test guest sending (skipped without /dev/kvm). */
    static void guestRows(Forwarder f, String vpc, Throughput.VethPair veth, List<String> rows, Map<String, Object> json) throws Exception {
        try (GuestFlood guests = GuestFlood.open()) {
            if (guests == null) {
                rows.add("| (no /dev/kvm: no guest rows)                 |       |            |            |            |          |");
                return;
            }
            long packets = Long.getLong("bench.guestPackets", 200_000);
            for (int payload : new int[] {18, 1400}) {
                int frame = payload + 42;
                GuestFlood.Result fwd;
                try (SandboxPort port = f.attach("bench", "guest-" + payload)) {
                    fwd = guests.flood(port.lease(), Tap.adopt(port.dupTapFd()), SINK, SINK_PORT, payload, packets, vpc, "gv201");
                }
                String tapName = "gtap" + payload;
                Tap tap = Tap.openIn(Path.of("/run/netns", veth.senderNamespace()), tapName, false);
                Testbed.ip(veth.senderNamespace(), "link", "set", tapName, "master", "br0", "up");
                Lease plain = new Lease("plain", "plain-" + payload, new byte[] {2, 0x67, 0, 0, 0, (byte) payload}, Ipv4.parse("198.18.0.200"), 24, GATEWAY);
                GuestFlood.Result base = guests.flood(plain, tap, SINK, SINK_PORT, payload, packets, veth.receiverNamespace(), "vr0");
                rows.add(fwd.row("guest → virtio-net → forwarder → VPC", frame));
                rows.add(base.row("guest → virtio-net → TAP → bridge → veth", frame));
                fwd.put(json, "guest_udp" + payload + "_forwarder_", frame);
                base.put(json, "guest_udp" + payload + "_veth_", frame);
                json.put("guest_udp" + payload + "_forwarder_to_veth_ratio_pps", round(fwd.deliveredPps() / base.deliveredPps()));
            }
        }
    }

    static String row(String label, Stats s) {
        return String.format(Locale.ROOT, "| %-44s | %5d | %7.3f | %7.3f | %7.3f |", label, s.count(), s.p50(), s.p99(), s.mean());
    }

    static void put(Map<String, Object> json, String key, Stats s) {
        json.put(key + "_ms_p50", round(s.p50()));
        json.put(key + "_ms_p99", round(s.p99()));
    }

    static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }

    /** The lease a forked attach installs rules for (the benchmark's own, never a sandbox's). */
    static Lease forkLease(int i) {
        return new Lease("bench", "fork" + i, new byte[] {2, 0x66, 0, 0, (byte) (i >> 8), (byte) i}, Ipv4.parse("198.18.0.250"), 24, GATEWAY);
    }
}
