package dev.hostd.bench;

import dev.hostd.guest.TestGuestImage;
import dev.hostd.guest.TestGuestNet;
import dev.hostd.net.Ipv4;
import dev.hostd.net.Lease;
import dev.hostd.template.Cloner;
import dev.hostd.template.Sandbox;
import dev.hostd.template.Template;
import dev.hostd.template.TemplateSpec;
import dev.hostd.template.TemplateStore;
import dev.hostd.vmm.agent.InvokeResult;
import dev.hostd.vmm.device.net.Tap;
import dev.hostd.vmm.identity.Identity;
import dev.hostd.vmm.kvm.Kvm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;

/**
 * UDP from a real test guest (virtio-net on a TAP, the guest's own stack, its {@code udpflood}
 * function): what arrives is counted on the receiving device, as for the raw generator.
 */
final class GuestFlood implements AutoCloseable {
    static final Duration WAIT = Duration.ofSeconds(120);
    private final Kvm kvm;
    private final Path root;
    private final TemplateStore store;
    private final Template template;
    private final Cloner cloner;

    private GuestFlood(Kvm kvm, Path root, TemplateStore store, Template template) {
        this.kvm = kvm;
        this.root = root;
        this.store = store;
        this.template = template;
        this.cloner = new Cloner(kvm, Duration.ofSeconds(30), 16 << 10);
    }

    /** A template of the test guest with a network device; null when this host has no /dev/kvm. */
    static GuestFlood open() throws Exception {
        if (!Files.exists(Path.of("/dev/kvm"))) {
            return null;
        }
        Kvm kvm = Kvm.open();
        Path root = Files.createTempDirectory(Path.of("/dev/shm"), "hostd-netbench");
        TemplateStore store = null;
        try {
            store = TemplateStore.open(root, kvm, Duration.ofSeconds(30));
            return new GuestFlood(kvm, root, store, store.build(new TemplateSpec("netbench", TestGuestImage.bytes(), 16, true)));
        } catch (RuntimeException | Error e) {
            if (store != null) {
                store.close();
            }
            kvm.close();
            Files.deleteIfExists(root.resolve("templates"));
            Files.deleteIfExists(root);
            throw e;
        }
    }

    record Result(long sent, double seconds, long delivered) {
        double sentPps() {
            return sent / seconds;
        }

        double deliveredPps() {
            return delivered / seconds;
        }

        String row(String label, int frameBytes) {
            return String.format(Locale.ROOT, "| %-44s | %5d | %10.0f | %10.0f | %10s | %8.1f |", label, frameBytes, sentPps(), deliveredPps(), "-",
                    deliveredPps() * frameBytes * 8 / 1e6);
        }

        void put(Map<String, Object> json, String prefix, int frameBytes) {
            json.put(prefix + "sent_pps", NetworkBenchmark.round(sentPps()));
            json.put(prefix + "delivered_pps", NetworkBenchmark.round(deliveredPps()));
            json.put(prefix + "mbit_s", NetworkBenchmark.round(deliveredPps() * frameBytes * 8 / 1e6));
        }
    }

    /** A clone with {@code lease}'s identity on {@code tap} floods {@code count} datagrams of {@code payload} bytes to {@code ip:port}. */
    Result flood(Lease lease, Tap tap, int ip, int port, int payload, long count, String rxNamespace, String rxDevice) throws InterruptedException {
        Identity id = new Identity(lease.mac(), Ipv4.toBytes(lease.ipv4()), lease.prefixLength(), Ipv4.toBytes(lease.gateway()),
                lease.sandboxId(), lease.sandboxId(), lease.tenantId());
        try (Sandbox s = cloner.clone(template, id, tap)) {
            invoke(s, TestGuestNet.PING, TestGuestNet.ping(Ipv4.toBytes(lease.gateway()), 1)); // ARP resolved, warm
            long rx0 = Throughput.rxPackets(rxNamespace, rxDevice);
            TestGuestNet.Flood f = TestGuestNet.Flood.parse(invoke(s, TestGuestNet.UDP_FLOOD, TestGuestNet.udpFlood(Ipv4.toBytes(ip), port, payload, count)));
            Thread.sleep(300);
            long delivered = Throughput.rxPackets(rxNamespace, rxDevice) - rx0;
            return new Result(f.sent(), f.elapsedNanos() / 1e9, delivered);
        }
    }

    private static byte[] invoke(Sandbox s, String function, byte[] argument) {
        InvokeResult r = s.invoke(function, argument, WAIT);
        if (!r.ok()) {
            throw new IllegalStateException(function + " failed in the guest: " + r.statusName());
        }
        return r.output();
    }

    @Override
    public void close() throws java.io.IOException {
        try {
            store.delete("netbench");
            store.close();
        } finally {
            kvm.close();
            Files.deleteIfExists(root.resolve("templates"));
            Files.deleteIfExists(root);
        }
    }
}
