package dev.hostd.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.hostd.guest.TestGuestImage;
import dev.hostd.guest.TestGuestNet;
import dev.hostd.guest.TestGuestNet.Replies;
import dev.hostd.net.DropCounters;
import dev.hostd.net.Forwarder;
import dev.hostd.net.ForwarderConfig;
import dev.hostd.net.Ipv4;
import dev.hostd.net.Ipv4Cidr;
import dev.hostd.net.Lease;
import dev.hostd.net.SandboxPort;
import dev.hostd.net.TenantSpec;
import dev.hostd.net.testbed.HostSupport;
import dev.hostd.net.testbed.Testbed;
import dev.hostd.template.Cloner;
import dev.hostd.template.Sandbox;
import dev.hostd.template.Template;
import dev.hostd.template.TemplateSpec;
import dev.hostd.template.TemplateStore;
import dev.hostd.vmm.agent.InvokeResult;
import dev.hostd.vmm.device.net.Tap;
import dev.hostd.vmm.identity.Identity;
import dev.hostd.vmm.kvm.Kvm;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real test guests (cloned from a template with virtio-net) on TAPs the forwarder hands out: their
 * own network stack ARPs for the VPC gateway through the tenant's VXLAN tunnel and pings and sends
 * UDP to the VPC's echo service, with the MAC and address of the lease the forwarder gave them.
 * Tenants a and b use the same subnet and the same service address; each guest must reach its own
 * VPC (the echo answer names it).
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS) // hang guard only
class NetworkEndToEndIT {
    static final Duration WAIT = Duration.ofSeconds(20);
    static final Ipv4Cidr SUBNET = Ipv4Cidr.parse("198.18.0.0/24");
    static final int GATEWAY = Ipv4.parse("198.18.0.1"), SERVICE = Ipv4.parse("198.19.0.10");
    @TempDir
    static Path root;
    static Testbed testbed;
    static Forwarder forwarder;
    static Kvm kvm;
    static TemplateStore store;
    static Template template;
    static Cloner cloner;

    @BeforeAll
    static void setUp() {
        HostSupport.assumeNetworkAdmin();
        assumeTrue(Files.exists(Path.of("/dev/kvm")), "needs /dev/kvm to run test guests");
        testbed = Testbed.create();
        testbed.addVpc("a", 301, SUBNET, GATEWAY, SERVICE);
        testbed.addVpc("b", 302, SUBNET, GATEWAY, SERVICE);
        ForwarderConfig base = testbed.forwarderConfig(1);
        forwarder = Forwarder.open(new ForwarderConfig(base.namespacePrefix(), base.underlayNamespace(), base.underlayLocal(),
                base.gatewayUnderlay(), base.vxlanPort(), base.mtu(), base.hostAddresses(), 1, true)); // the device uses virtio-net headers
        forwarder.addTenant(new TenantSpec("a", 301, SUBNET, GATEWAY));
        forwarder.addTenant(new TenantSpec("b", 302, SUBNET, GATEWAY));
        kvm = Kvm.open();
        store = TemplateStore.open(root, kvm, WAIT);
        template = store.build(new TemplateSpec("net-guest", TestGuestImage.bytes(), 16, true));
        cloner = new Cloner(kvm, WAIT, 16 << 10);
    }

    @AfterAll
    static void tearDown() {
        try {
            if (forwarder != null) {
                forwarder.close();
            }
            if (store != null) {
                store.close();
            }
            if (kvm != null) {
                kvm.close();
            }
        } finally {
            if (testbed != null) {
                testbed.close();
                assertEquals(List.of(), testbed.leftovers(), "namespaces left behind");
            }
        }
    }

    @Test
    void guestsOfTwoTenantsWithTheSameSubnetReachTheirOwnVpcWithTheirLeasedIdentity() {
        for (String tenant : List.of("a", "b")) {
            try (SandboxPort port = forwarder.attach(tenant, "guest-" + tenant)) {
                Lease lease = port.lease();
                Identity identity = new Identity(lease.mac(), Ipv4.toBytes(lease.ipv4()), lease.prefixLength(), Ipv4.toBytes(lease.gateway()),
                        "guest-" + tenant, "guest-" + tenant, tenant);
                try (Sandbox s = cloner.clone(template, identity, Tap.adopt(port.dupTapFd()))) {
                    byte[] payload = ("hello from " + tenant).getBytes(StandardCharsets.US_ASCII);
                    Replies udp = Replies.parseUdp(invoke(s, TestGuestNet.UDP, TestGuestNet.udp(Ipv4.toBytes(SERVICE), Testbed.ECHO_PORT, 2, payload)));
                    assertEquals(2, udp.received(), "echo replies through the tunnel: " + udp);
                    assertArrayEquals((tenant + ":hello from " + tenant).getBytes(StandardCharsets.US_ASCII), udp.lastReply(), "answered by the tenant's own VPC");
                    Replies ping = Replies.parsePing(invoke(s, TestGuestNet.PING, TestGuestNet.ping(Ipv4.toBytes(SERVICE), 2)));
                    assertEquals(2, ping.received(), "ICMP echo through the tunnel");

                    // seen on the wire: the VPC learned the guest's address with the leased MAC
                    String neigh = Testbed.ip(testbed.prefix() + "vpc-" + tenant, "neigh", "show", lease.ipText());
                    assertTrue(neigh.contains("lladdr " + lease.macText()), "VPC neighbour entry: " + neigh);
                    assertEquals(new DropCounters(0, 0, 0, 0, 0), forwarder.dropCounters(port.sandboxId()), "the guest sent nothing the rules drop");
                }
            }
        }
    }

    @Test
    void aGuestCannotReachTheHostAndItsAttemptIsCounted() {
        try (SandboxPort port = forwarder.attach("a", "guest-host")) {
            Lease lease = port.lease();
            Identity identity = new Identity(lease.mac(), Ipv4.toBytes(lease.ipv4()), lease.prefixLength(), Ipv4.toBytes(lease.gateway()),
                    "guest-host", "guest-host", "a");
            try (Sandbox s = cloner.clone(template, identity, Tap.adopt(port.dupTapFd()))) {
                Replies ping = Replies.parsePing(invoke(s, TestGuestNet.PING, TestGuestNet.ping(Ipv4.toBytes(Testbed.HOST_UNDERLAY), 2)));
                assertEquals(0, ping.received(), "the host answered the guest");
                assertEquals(2, forwarder.dropCounters("guest-host").toHost(), "both echo requests dropped and counted");
            }
        }
        assertFalse(Testbed.ip(forwarder.namespaceOf("a"), "link", "show").contains("guest-host"));
    }

    static byte[] invoke(Sandbox s, String function, byte[] argument) {
        InvokeResult r = s.invoke(function, argument, WAIT);
        assertTrue(r.ok(), function + ": " + r.statusName());
        return r.output();
    }
}
