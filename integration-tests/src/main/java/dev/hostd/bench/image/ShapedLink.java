package dev.hostd.bench.image;

import java.io.IOException;

/**
 * A network namespace joined to the root namespace by a veth pair (198.19.240.1 here, .2 inside),
 * optionally shaped with {@code tc tbf} in both directions. The namespace owns the inside end, so
 * deleting it removes the pair; {@link #close()} does that even after a half-made setup.
 */
final class ShapedLink implements AutoCloseable {
    static final String HOST_ADDRESS = "198.19.240.1";
    static final String INSIDE_ADDRESS = "198.19.240.2";

    final String namespace;
    private final String hostIf;
    private final String insideIf;

    private ShapedLink(String namespace, String hostIf, String insideIf) {
        this.namespace = namespace;
        this.hostIf = hostIf;
        this.insideIf = insideIf;
    }

    static ShapedLink create() throws IOException {
        long pid = ProcessHandle.current().pid();
        ShapedLink link = new ShapedLink("hostd-imgbench-" + pid, "hib" + pid + "h", "hib" + pid + "n");
        try {
            Cmd.run("ip", "netns", "add", link.namespace);
            Cmd.run("ip", "link", "add", link.hostIf, "type", "veth", "peer", "name", link.insideIf);
            Cmd.run("ip", "link", "set", link.insideIf, "netns", link.namespace);
            Cmd.run("ip", "addr", "add", HOST_ADDRESS + "/30", "dev", link.hostIf);
            Cmd.run("ip", "link", "set", link.hostIf, "up");
            Cmd.run("ip", "-n", link.namespace, "addr", "add", INSIDE_ADDRESS + "/30", "dev", link.insideIf);
            Cmd.run("ip", "-n", link.namespace, "link", "set", link.insideIf, "up");
            Cmd.run("ip", "-n", link.namespace, "link", "set", "lo", "up");
            return link;
        } catch (IOException e) {
            link.close();
            throw e;
        }
    }

    /** Limits both directions to {@code mbit} Mbit/s with a token bucket (the kernel has tbf, not netem). */
    void shape(int mbit) throws IOException {
        // burst: a few ms of line rate, well above rate/HZ; latency bounds the queue, as a router's would.
        String rate = mbit + "mbit";
        String burst = Math.max(32, mbit * 1000 / 8 / 250) + "kb";
        Cmd.run("tc", "qdisc", "replace", "dev", hostIf, "root", "tbf", "rate", rate, "burst", burst, "latency", "50ms");
        Cmd.run("ip", "netns", "exec", namespace, "tc", "qdisc", "replace", "dev", insideIf, "root", "tbf", "rate", rate, "burst", burst, "latency", "50ms");
    }

    @Override
    public void close() {
        Cmd.quietly("ip", "netns", "del", namespace);
        try {
            Cmd.run("ip", "link", "del", hostIf); // only there if the pair was made but never moved
        } catch (IOException gone) {
            // the usual case: deleting the namespace took the pair with it
        }
    }
}
