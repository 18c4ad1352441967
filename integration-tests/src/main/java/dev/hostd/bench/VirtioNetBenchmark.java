package dev.hostd.bench;

import dev.hostd.guest.TestGuestImage;
import dev.hostd.guest.TestGuestNet;
import dev.hostd.template.Cloner;
import dev.hostd.template.Sandbox;
import dev.hostd.template.Template;
import dev.hostd.template.TemplateSpec;
import dev.hostd.template.TemplateStore;
import dev.hostd.vmm.agent.InvokeResult;
import dev.hostd.vmm.device.net.NetnsThread;
import dev.hostd.vmm.device.net.Tap;
import dev.hostd.vmm.kvm.Kvm;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;

/**
 * Guest-to-host UDP through virtio-net and a TAP, against a host socket over a veth pair in the
 * same run. In a namespace made for the run, a bridge {@code br0} (198.18.0.1/24) holds the
 * sandbox's TAP and one end of a veth pair whose other end (198.18.0.3) lives in a second
 * namespace; a sink socket on 198.18.0.1 counts what arrives. The guest sends with its built-in
 * {@code udpflood}; the baseline is a Java DatagramChannel in the second namespace sending the
 * same datagrams over the veth. Prints a table and a JSON line and writes
 * docs/benchmarks/virtio-net.md. Run: {@code scripts/bench-virtio-net}.
 */
public final class VirtioNetBenchmark {
    static final Duration WAIT = Duration.ofSeconds(120);
    static final byte[] SINK_IP = {(byte) 198, 18, 0, 1};
    static final int SINK_PORT = 9999;

    record Row(String path, int size, long sent, long received, double seconds) {
        double pps() {
            return sent / seconds;
        }

        double mbit() {
            return sent * (double) size * 8 / seconds / 1e6;
        }
    }

    public static void main(String[] args) throws Exception {
        long count = Long.getLong("bench.count", 200_000);
        int rounds = Integer.getInteger("bench.rounds", 3);
        int[] sizes = parse(System.getProperty("bench.sizes", "64,1400"));
        Path report = Path.of(System.getProperty("bench.report", "docs/benchmarks/virtio-net.md"));
        String loadBefore = loadAverage();
        String tag = "hvb" + ProcessHandle.current().pid();
        String ns = tag + "-sink", src = tag + "-src";
        Path root = Files.createTempDirectory(Path.of("/dev/shm"), "hostd-bench-net");
        List<Row> rows = new ArrayList<>();
        AtomicLong received = new AtomicLong();
        try (Kvm kvm = Kvm.open(); TemplateStore store = TemplateStore.open(root, kvm, WAIT)) {
            sh("ip", "netns", "add", ns);
            sh("ip", "netns", "add", src);
            Path nsPath = Path.of("/run/netns", ns);
            in(ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1", "net.core.rmem_max=8388608");
            in(ns, "ip", "link", "add", "br0", "type", "bridge");
            in(ns, "ip", "addr", "add", "198.18.0.1/24", "dev", "br0");
            in(ns, "ip", "link", "set", "br0", "up");
            in(ns, "ip", "link", "add", "veth0", "type", "veth", "peer", "name", "veth1", "netns", src);
            in(ns, "ip", "link", "set", "veth0", "master", "br0", "up");
            in(src, "ip", "addr", "add", "198.18.0.3/24", "dev", "veth1");
            in(src, "ip", "link", "set", "veth1", "up");
            try (DatagramChannel sink = NetnsThread.call(nsPath, () -> {
                    DatagramChannel c = DatagramChannel.open();
                    c.setOption(java.net.StandardSocketOptions.SO_RCVBUF, 8 << 20);
                    return c.bind(new InetSocketAddress(InetAddress.getByAddress(SINK_IP), SINK_PORT));
                 });
                 DatagramChannel sender = NetnsThread.call(Path.of("/run/netns", src), () -> DatagramChannel.open()
                         .bind(new InetSocketAddress("198.18.0.3", 0)).connect(new InetSocketAddress("198.18.0.1", SINK_PORT)))) {
                Thread counter = Thread.ofPlatform().daemon(true).name("sink").start(() -> {
                    ByteBuffer buf = ByteBuffer.allocateDirect(2048);
                    try {
                        while (true) {
                            buf.clear();
                            sink.receive(buf);
                            received.incrementAndGet();
                        }
                    } catch (IOException closed) {
                        // the run is over
                    }
                });
                Template template = store.build(new TemplateSpec("bench-net", TestGuestImage.bytes(), 16, true));
                Cloner cloner = new Cloner(kvm, WAIT, 4096);
                Tap tap = Tap.openIn(nsPath, "vtap0", true);
                try (Sandbox sandbox = cloner.clone(template, BenchIdentities.number(2), tap)) {
                    in(ns, "ip", "link", "set", "vtap0", "master", "br0", "up");
                    flood(sandbox, 64, 20_000); // warm up: ARP, JIT of the device path
                    baseline(sender, 64, 20_000);
                    for (int size : sizes) {
                        for (int r = 0; r < rounds; r++) { // alternating, so drift hits both paths alike
                            rows.add(measure("guest virtio-net + TAP", size, received, () -> flood(sandbox, size, count)));
                            rows.add(measure("host socket over veth", size, received, () -> baseline(sender, size, count)));
                        }
                    }
                }
                sink.close();
                counter.join(5000);
            }
        } finally {
            quietly("ip", "netns", "del", ns);
            quietly("ip", "netns", "del", src);
            deleteTree(root);
        }
        String table = table(rows, sizes);
        Map<String, Object> json = new LinkedHashMap<>();
        for (int size : sizes) {
            Row g = best(rows, "guest", size), h = best(rows, "host", size);
            json.put("guest_" + size + "_pps", Math.round(g.pps()));
            json.put("guest_" + size + "_mbit", round(g.mbit()));
            json.put("host_veth_" + size + "_pps", Math.round(h.pps()));
            json.put("host_veth_" + size + "_mbit", round(h.mbit()));
            json.put("ratio_" + size + "_pps", round(g.pps() / h.pps()));
        }
        String line = json.entrySet().stream().map(e -> "\"" + e.getKey() + "\":" + e.getValue())
                .collect(Collectors.joining(",", "{\"benchmark\":\"virtio-net\",\"count\":" + count + ",", "}"));
        System.out.println(table);
        System.out.println(line);
        writeMarkdown(report, table, line, count, rounds, loadBefore + " before, " + loadAverage() + " after");
    }

    /** The 1/5/15-minute load averages: a busy host makes every row slower, so the report says how busy it was. */
    static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException e) {
            return "unknown";
        }
    }

    interface Send {
        /** Sends; returns {sent, elapsed ns}. */
        long[] run() throws Exception;
    }

    static Row measure(String path, int size, AtomicLong received, Send send) throws Exception {
        long before = received.get();
        long[] r = send.run();
        Thread.sleep(300); // let the sink drain what is in flight
        return new Row(path, size, r[0], received.get() - before, r[1] / 1e9);
    }

    static long[] flood(Sandbox sandbox, int size, long count) {
        InvokeResult r = sandbox.invoke(TestGuestNet.UDP_FLOOD, TestGuestNet.udpFlood(SINK_IP, SINK_PORT, size, count), WAIT);
        if (!r.ok()) {
            throw new IllegalStateException("udpflood failed: " + r.statusName());
        }
        TestGuestNet.Flood f = TestGuestNet.Flood.parse(r.output());
        if (f.sent() != count) {
            throw new IllegalStateException("udpflood sent " + f.sent() + " of " + count + " (no ARP answer?)");
        }
        return new long[] {f.sent(), f.elapsedNanos()};
    }

    static long[] baseline(DatagramChannel sender, int size, long count) throws IOException {
        ByteBuffer payload = ByteBuffer.allocateDirect(size);
        long t0 = System.nanoTime();
        for (long i = 0; i < count; i++) {
            payload.clear();
            sender.write(payload);
        }
        return new long[] {count, System.nanoTime() - t0};
    }

    static Row best(List<Row> rows, String prefix, int size) {
        return rows.stream().filter(r -> r.path().startsWith(prefix) && r.size() == size)
                .max((a, b) -> Double.compare(a.pps(), b.pps())).orElseThrow();
    }

    static String table(List<Row> rows, int[] sizes) {
        StringBuilder b = new StringBuilder();
        b.append("| path | payload B | sent | arrived at the sink | packets/s | payload Mbit/s |\n");
        b.append("|---|---:|---:|---:|---:|---:|\n");
        for (Row r : rows) {
            b.append(String.format(Locale.ROOT, "| %s | %d | %d | %d | %.0f | %.1f |%n", r.path(), r.size(), r.sent(), r.received(), r.pps(), r.mbit()));
        }
        b.append("\n| payload B | guest best packets/s | host best packets/s | guest / host |\n|---:|---:|---:|---:|\n");
        for (int size : sizes) {
            Row g = best(rows, "guest", size), h = best(rows, "host", size);
            b.append(String.format(Locale.ROOT, "| %d | %.0f | %.0f | %.2f |%n", size, g.pps(), h.pps(), g.pps() / h.pps()));
        }
        return b.toString();
    }

    static void writeMarkdown(Path file, String table, String json, long count, int rounds, String load) throws IOException {
        String md = """
                # virtio-net benchmark

                Latest run: %s, %d cores, JDK %s, load average %s. Produced by `dev.hostd.bench.VirtioNetBenchmark`; re-run with:

                ```
                scripts/bench-virtio-net            # -Dbench.count=200000 -Dbench.rounds=3 -Dbench.sizes=64,1400
                ```

                Guest-to-host UDP, %d datagrams per row, %d alternating rounds per size. The guest (the
                test guest, 16 MiB, cloned with a TAP) runs its built-in `udpflood`: it builds one
                Ethernet/IPv4/UDP frame and posts it to the tx queue as fast as the queue takes it, one
                notification (one exit) per 16 frames; the device writes each frame to the TAP with
                `writev` on the vCPU thread, and the kernel carries it through a bridge to a socket in
                the namespace. The baseline is a host process doing the same with a connected
                `DatagramChannel` from a second namespace over a veth pair into the same bridge: the
                cost of the path without a VM. "sent" is what the sender handed over in the measured
                time (guest: from the first frame to the last notify returning); "arrived" is what
                the sink socket counted (the sink, one Java thread, can be the slower side).
                The forwarder's own comparison (VXLAN to a VPC vs plain veth) is in `network.md`.

                %s
                ```json
                %s
                ```
                """.formatted(Instant.now().truncatedTo(ChronoUnit.SECONDS), Runtime.getRuntime().availableProcessors(),
                Runtime.version(), load, count, rounds, table, json);
        Files.createDirectories(file.toAbsolutePath().getParent());
        Files.writeString(file, md);
    }

    static void in(String ns, String... command) {
        List<String> c = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        c.addAll(List.of(command));
        sh(c.toArray(String[]::new));
    }

    static void sh(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", command) + " failed: " + out.strip());
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + command[0], e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static void quietly(String... command) {
        try {
            sh(command);
        } catch (RuntimeException ignored) {
            // cleanup of what may not exist
        }
    }

    static void deleteTree(Path dir) throws IOException {
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    static int[] parse(String csv) {
        return java.util.Arrays.stream(csv.split(",")).map(String::trim).mapToInt(Integer::parseInt).toArray();
    }

    static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }
}
