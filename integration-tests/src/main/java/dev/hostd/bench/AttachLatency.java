package dev.hostd.bench;

import dev.hostd.net.Forwarder;
import dev.hostd.net.Rules;
import dev.hostd.net.SandboxPort;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/** Attach latency: the forwarder's fast path, and the same steps as forked processes. */
final class AttachLatency {
    private AttachLatency() {}

    /** {@code n} attaches (timed) each followed by a detach (not timed). */
    static Stats cycle(Forwarder f, String prefix, int n) {
        double[] ms = new double[n];
        for (int i = 0; i < n; i++) {
            long t0 = System.nanoTime();
            SandboxPort port = f.attach("bench", prefix + "-" + i);
            ms[i] = (System.nanoTime() - t0) / 1e6;
            port.close();
        }
        return Stats.of(ms);
    }

    /** Like {@link #cycle}, with {@code live} sandboxes attached all along (the cost must not grow with them). */
    static Stats cycleAmong(Forwarder f, int live, int n) {
        java.util.List<SandboxPort> held = new java.util.ArrayList<>();
        try {
            for (int i = 0; i < live; i++) {
                held.add(f.attach("bench", "live-" + i));
            }
            return cycle(f, "among", n);
        } finally {
            held.forEach(SandboxPort::close);
        }
    }

    /**
     * The baseline: what an attach costs when each step forks a tool, as scripts and CNI plugins do:
     * {@code ip tuntap add}, {@code ip link set master/mtu/up}, {@code nft -f} with the same rules.
     * Returns [ip tuntap add alone, all three].
     */
    static Stats[] forked(String ns, int n) throws IOException, InterruptedException {
        double[] tuntap = new double[n], full = new double[n];
        for (int i = 0; i < n; i++) {
            String tap = "f" + i;
            long t0 = System.nanoTime();
            run(null, "ip", "-n", ns, "tuntap", "add", "dev", tap, "mode", "tap");
            long t1 = System.nanoTime();
            run(null, "ip", "-n", ns, "link", "set", tap, "master", "hbr", "mtu", "1450", "up");
            run(Rules.attach(tap, NetworkBenchmark.forkLease(i), 0), "ip", "netns", "exec", ns, "nft", "-f", "-");
            long t2 = System.nanoTime();
            tuntap[i] = (t1 - t0) / 1e6;
            full[i] = (t2 - t0) / 1e6;
            run(Rules.detach(tap, NetworkBenchmark.forkLease(i), false), "ip", "netns", "exec", ns, "nft", "-f", "-");
            run(null, "ip", "-n", ns, "link", "del", tap);
        }
        return new Stats[] {Stats.of(tuntap), Stats.of(full)};
    }

    private static void run(String stdin, String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        try (OutputStream in = p.getOutputStream()) {
            if (stdin != null) {
                in.write(stdin.getBytes(StandardCharsets.US_ASCII));
            }
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " failed: " + out);
        }
    }
}
