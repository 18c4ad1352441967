package dev.hostd.net.testbed;

import dev.hostd.net.ForwarderConfig;
import dev.hostd.net.Ipv4;
import dev.hostd.net.Ipv4Cidr;
import dev.hostd.net.internal.NetnsThread;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The world around a host, in namespaces this object makes and always deletes: an "underlay"
 * namespace holding the host's end of the shared ENI (a veth), a "gateway" namespace on the other
 * end that terminates one VXLAN tunnel per VNI into a per-VPC namespace, and in each VPC a UDP
 * echo service (answers "&lt;vpc&gt;:" + payload, so a test sees which VPC answered) and the
 * kernel's ICMP echo. Addresses: 198.19.255.0/30 for the ENI, the rest from 198.18.0.0/15.
 */
public final class Testbed implements AutoCloseable {
    public static final int HOST_UNDERLAY = Ipv4.parse("198.19.255.1");
    public static final int GATEWAY_UNDERLAY = Ipv4.parse("198.19.255.2");
    public static final Ipv4Cidr ENI_NETWORK = Ipv4Cidr.parse("198.19.255.0/30");
    public static final int ECHO_PORT = 7;

    private final String prefix;
    private final String underlay;
    private final String gateway;
    private final List<DatagramChannel> services = new ArrayList<>();
    private final Thread cleanupHook;

    private Testbed(String prefix) {
        this.prefix = prefix;
        this.underlay = prefix + "u";
        this.gateway = prefix + "g";
        this.cleanupHook = new Thread(this::deleteNamespaces);
        Runtime.getRuntime().addShutdownHook(cleanupHook);
    }

    /** Makes the underlay and gateway namespaces joined by the ENI veth. */
    public static Testbed create() {
        Testbed t = new Testbed("hnt" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt() & 0xFFFF, 4) + "-");
        try {
            sh("ip", "netns", "add", t.underlay);
            sh("ip", "netns", "add", t.gateway);
            sh("ip", "-n", t.underlay, "link", "add", "eni", "type", "veth", "peer", "name", "eni", "netns", t.gateway);
            for (String[] end : new String[][] {{t.underlay, "198.19.255.1/30"}, {t.gateway, "198.19.255.2/30"}}) {
                sh("ip", "-n", end[0], "addr", "add", end[1], "dev", "eni");
                sh("ip", "-n", end[0], "link", "set", "eni", "up");
                sh("ip", "-n", end[0], "link", "set", "lo", "up");
            }
            return t;
        } catch (RuntimeException e) {
            t.close();
            throw e;
        }
    }

    /** Namespace-name prefix of everything this testbed makes (the forwarder's tenants included). */
    public String prefix() {
        return prefix;
    }

    public String underlayNamespace() {
        return underlay;
    }

    public String gatewayNamespace() {
        return gateway;
    }

    /** A forwarder configuration whose tenants live under this testbed's prefix and tunnel over its ENI. */
    public ForwarderConfig forwarderConfig(int tapPool) {
        return ForwarderConfig.of(underlay, HOST_UNDERLAY, GATEWAY_UNDERLAY, List.of(ENI_NETWORK)).withPrefix(prefix + "t-").withTapPool(tapPool);
    }

    /**
     * A VPC behind the gateway: namespace {@code <prefix>vpc-<name>} with the tunnel for {@code vni},
     * {@code gatewayIp} on the subnet and {@code serviceIp} (on lo) running the UDP echo service.
     */
    public String addVpc(String name, int vni, Ipv4Cidr subnet, int gatewayIp, int serviceIp) {
        String ns = prefix + "vpc-" + name, dev = "gv" + vni;
        sh("ip", "netns", "add", ns);
        sh("ip", "-n", gateway, "link", "add", dev, "mtu", "1450", "type", "vxlan", "id", Integer.toString(vni),
                "local", Ipv4.format(GATEWAY_UNDERLAY), "remote", Ipv4.format(HOST_UNDERLAY), "dstport", "4789");
        sh("ip", "-n", gateway, "link", "set", dev, "netns", ns);
        sh("ip", "-n", ns, "addr", "add", Ipv4.format(gatewayIp) + "/" + subnet.prefixLength(), "dev", dev);
        sh("ip", "-n", ns, "addr", "add", Ipv4.format(serviceIp) + "/32", "dev", "lo");
        sh("ip", "-n", ns, "link", "set", "lo", "up");
        sh("ip", "-n", ns, "link", "set", dev, "up");
        startEcho(ns, name, serviceIp);
        return ns;
    }

    /** A UDP socket in namespace {@code ns}, bound to {@code ip:port} (sinks for benchmarks). */
    public static DatagramChannel udpSocket(String ns, int ip, int port) {
        try (NetnsThread in = NetnsThread.enter(ns)) {
            InetSocketAddress at = new InetSocketAddress(java.net.InetAddress.getByAddress(Ipv4.toBytes(ip)), port);
            return in.call(() -> DatagramChannel.open(java.net.StandardProtocolFamily.INET).bind(at));
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
    }

    private void startEcho(String ns, String name, int serviceIp) {
        java.net.InetAddress address;
        try {
            address = java.net.InetAddress.getByAddress(Ipv4.toBytes(serviceIp));
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
        DatagramChannel channel;
        try (NetnsThread in = NetnsThread.enter(ns)) {
            // bound to the service address, so replies leave from it (a wildcard socket would answer from the gateway address)
            InetSocketAddress at = new InetSocketAddress(address, ECHO_PORT);
            channel = in.call(() -> DatagramChannel.open(java.net.StandardProtocolFamily.INET).bind(at));
        }
        services.add(channel);
        byte[] tag = (name + ":").getBytes(StandardCharsets.US_ASCII);
        Thread.ofPlatform().daemon().name("echo-" + name).start(() -> {
            ByteBuffer in = ByteBuffer.allocate(65536);
            try {
                while (true) {
                    in.clear();
                    var from = channel.receive(in);
                    in.flip();
                    ByteBuffer out = ByteBuffer.allocate(tag.length + in.remaining()).put(tag).put(in).flip();
                    channel.send(out, from);
                }
            } catch (ClosedChannelException e) {
                // closed by the testbed
            } catch (IOException e) {
                throw new IllegalStateException("echo service " + name + " failed", e);
            }
        });
    }

    /** Runs {@code ip -n ns args...}; returns its output. */
    public static String ip(String ns, String... args) {
        List<String> c = new ArrayList<>(List.of("ip", "-n", ns));
        c.addAll(List.of(args));
        return sh(c.toArray(String[]::new));
    }

    /** Namespaces (in /run/netns) whose names start with this testbed's prefix. */
    public List<String> leftovers() {
        try (Stream<Path> s = Files.list(Path.of("/run/netns"))) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(prefix)).sorted().toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    /** Runs a command; throws with its output when it fails. */
    public static String sh(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", command) + " failed: " + out.strip());
            }
            return out;
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + command[0], e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private void deleteNamespaces() {
        for (String ns : leftovers()) {
            try {
                sh("ip", "netns", "del", ns);
            } catch (IllegalStateException e) {
                // best effort; the next line of the test reports what is left
            }
        }
    }

    /** Stops the services and deletes every namespace with this testbed's prefix. */
    @Override
    public void close() {
        for (DatagramChannel c : services) {
            try {
                c.close();
            } catch (IOException e) {
                // closing anyway
            }
        }
        deleteNamespaces();
        try {
            Runtime.getRuntime().removeShutdownHook(cleanupHook);
        } catch (IllegalStateException e) {
            // already shutting down
        }
    }
}
