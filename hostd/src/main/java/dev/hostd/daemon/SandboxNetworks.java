package dev.hostd.daemon;

import dev.hostd.net.Forwarder;
import dev.hostd.net.ForwarderConfig;
import dev.hostd.net.Ipv4;
import dev.hostd.net.Ipv4Cidr;
import dev.hostd.net.Lease;
import dev.hostd.net.NetException;
import dev.hostd.net.SandboxPort;
import dev.hostd.net.TenantSpec;
import dev.hostd.template.Template;
import dev.hostd.vmm.identity.Identity;
import io.micronaut.context.annotation.Value;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The daemon's side of netns-forwarder (docs/network.md, "In the daemon"): with
 * {@code hostd.network.enabled}, tenants' networks set through the API and a port (TAP, lease,
 * rules) for each sandbox whose template has a network device. The Engine calls
 * {@link #wants}, {@link #attach}, {@link #identity}, {@link #view} and {@link #release}.
 *
 * <p>Ports are attached under the read lock, tenants changed under the write lock, so a tenant's
 * network never changes under a sandbox being attached to it.
 */
@Singleton
public final class SandboxNetworks implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SandboxNetworks.class);
    static final String ENABLED_KEY = "hostd.network.enabled";

    private final Forwarder forwarder; // null when networking is off
    private final TenantNetworkFile file;
    /** Guarded by {@link #lock}: read under the read lock, changed under the write lock. */
    private final Map<String, TenantSpec> tenants = new TreeMap<>();
    private final Map<String, SandboxPort> ports = new ConcurrentHashMap<>();
    private final ReadWriteLock lock = new ReentrantReadWriteLock();
    private boolean closed;

    public SandboxNetworks(HostdConfig hostd,
                           @Value("${" + ENABLED_KEY + ":false}") boolean enabled,
                           @Value("${hostd.network.underlay-namespace:}") String underlayNamespace,
                           @Value("${hostd.network.local-address:}") String localAddress,
                           @Value("${hostd.network.gateway-address:}") String gatewayAddress,
                           @Value("${hostd.network.host-addresses:}") String hostAddresses,
                           @Value("${hostd.network.namespace-prefix:hostd-t-}") String namespacePrefix,
                           @Value("${hostd.network.vxlan-port:4789}") int vxlanPort,
                           @Value("${hostd.network.mtu:1450}") int mtu,
                           @Value("${hostd.network.tap-pool-size:4}") int tapPoolSize) {
        this.file = new TenantNetworkFile(hostd.stateDir());
        if (!enabled) {
            this.forwarder = null;
            LOG.info("sandbox networking off ({}=false)", ENABLED_KEY);
            return;
        }
        ForwarderConfig config = new NetworkSettings(underlayNamespace, localAddress, gatewayAddress, hostAddresses,
                namespacePrefix, vxlanPort, mtu, tapPoolSize).forwarderConfig();
        List<TenantSpec> saved = file.load();
        try {
            this.forwarder = Forwarder.open(config);
        } catch (NetException e) {
            throw new IllegalStateException("hostd.network: " + e.getMessage(), e);
        }
        try {
            // Sandboxes do not survive a restart: whatever a predecessor left (namespaces with their
            // TAPs, bridges, tunnels and rules) belongs to no live sandbox. Remove it all, then set
            // the saved tenants up afresh.
            Set<String> stale = forwarder.removeStaleTenants(Set.of());
            if (!stale.isEmpty()) {
                LOG.info("removed the networks a previous run left for tenant(s) {}", stale);
            }
            for (TenantSpec s : saved) {
                forwarder.addTenant(s);
                tenants.put(s.tenantId(), s);
            }
        } catch (RuntimeException e) {
            closeForwarder();
            throw new IllegalStateException("hostd.network: " + e.getMessage(), e);
        }
        LOG.info("sandbox networking on: VXLAN {} -> {} in namespace {}, tenants {} (from {})", Ipv4.format(config.underlayLocal()),
                Ipv4.format(config.gatewayUnderlay()), config.underlayNamespace() == null ? "of hostd" : config.underlayNamespace(),
                tenants.keySet(), file.path());
    }

    /** True if a sandbox of this template gets a port: networking is on and the template has a network device. */
    boolean wants(Template template) {
        return forwarder != null && hasNetworkDevice(template);
    }

    static boolean hasNetworkDevice(Template template) {
        return template.state().devices().stream().anyMatch(d -> d.kind().equals("virtio-mmio/net"));
    }

    // ---- sandboxes ------------------------------------------------------------------------------

    /** Attaches sandbox {@code id} to its tenant's network (the fast path: no process forked). */
    SandboxPort attach(String tenant, String id) {
        lock.readLock().lock();
        try {
            if (closed) {
                throw new ApiException(ProblemCode.UNAVAILABLE, "hostd is stopping");
            }
            TenantSpec spec = tenants.get(tenant);
            if (spec == null) {
                throw new ApiException(ProblemCode.CONFLICT, "tenant " + tenant + " has no network: PUT /v1/tenants/" + tenant
                        + "/network first (the template has a network device)");
            }
            if (ports.containsKey(id)) {
                throw new ApiException(ProblemCode.CONFLICT, "sandbox id " + id + " is already in use");
            }
            SandboxPort port;
            try {
                port = forwarder.attach(tenant, id);
            } catch (NetException e) {
                throw new ApiException(ProblemCode.HOST_UNAVAILABLE, "attaching sandbox " + id + " to the network of tenant " + tenant
                        + " failed: " + e.getMessage());
            }
            if (ports.putIfAbsent(id, port) != null) {
                port.close(); // lost a race with a create of the same id
                throw new ApiException(ProblemCode.CONFLICT, "sandbox id " + id + " is already in use");
            }
            return port;
        } finally {
            lock.readLock().unlock();
        }
    }

    /** The guest's identity: the MAC, address, prefix and gateway of the port's lease. */
    static Identity identity(SandboxPort port, String hostname, String id, String tenant) {
        Lease l = port.lease();
        return new Identity(l.mac(), Ipv4.toBytes(l.ipv4()), l.prefixLength(), Ipv4.toBytes(l.gateway()), hostname, id, tenant);
    }

    /** After the sandbox's VM is closed (or its clone failed): detaches exactly this port. */
    void release(String id, SandboxPort port) {
        if (port != null && ports.remove(id, port)) {
            closeQuietly(port);
        }
    }

    Dto.SandboxNetworkView view(SandboxPort port) {
        return port == null ? null : new Dto.SandboxNetworkView(port.namespace(), port.tapName());
    }

    private static void closeQuietly(SandboxPort port) {
        try {
            port.close();
        } catch (RuntimeException e) {
            LOG.warn("detaching {} failed: {}", port, e.getMessage());
        }
    }

    // ---- tenants --------------------------------------------------------------------------------

    /** Sets a tenant's network; the same network again changes nothing; another one only while no sandbox is attached. */
    Dto.TenantNetworkView put(String tenant, Dto.TenantNetworkRequest request) {
        TenantSpec spec = TenantNetworkRequests.validate(tenant, request);
        lock.writeLock().lock();
        try {
            requireOn();
            TenantSpec old = tenants.get(tenant);
            if (spec.equals(old)) {
                return view(spec);
            }
            for (TenantSpec t : tenants.values()) {
                if (t.vni() == spec.vni() && !t.tenantId().equals(tenant)) {
                    throw new ApiException(ProblemCode.CONFLICT, "vni " + spec.vni() + " is already the network of tenant " + t.tenantId());
                }
            }
            if (old != null) {
                requireNoPorts(tenant, "changed");
                forwarder.removeTenant(tenant);
                tenants.remove(tenant);
            }
            try {
                forwarder.addTenant(spec);
            } catch (NetException e) {
                forwarder.removeTenant(tenant);
                save();
                throw new ApiException(ProblemCode.HOST_UNAVAILABLE, "setting up the network of tenant " + tenant + " failed: " + e.getMessage());
            }
            tenants.put(tenant, spec);
            save();
            LOG.info("tenant {} network {} (vni {}, gateway {})", tenant, spec.subnet(), spec.vni(), Ipv4.format(spec.gateway()));
            return view(spec);
        } finally {
            lock.writeLock().unlock();
        }
    }

    Dto.TenantNetworkView get(String tenant) {
        TenantNetworkRequests.validateTenant(tenant);
        lock.readLock().lock();
        try {
            requireOn();
            TenantSpec spec = tenants.get(tenant);
            if (spec == null) {
                throw new ApiException(ProblemCode.NOT_FOUND, "tenant " + tenant + " has no network");
            }
            return view(spec);
        } finally {
            lock.readLock().unlock();
        }
    }

    void delete(String tenant) {
        TenantNetworkRequests.validateTenant(tenant);
        lock.writeLock().lock();
        try {
            requireOn();
            if (!tenants.containsKey(tenant)) {
                throw new ApiException(ProblemCode.NOT_FOUND, "tenant " + tenant + " has no network");
            }
            requireNoPorts(tenant, "deleted");
            forwarder.removeTenant(tenant);
            tenants.remove(tenant);
            save();
            LOG.info("tenant {} network deleted", tenant);
        } finally {
            lock.writeLock().unlock();
        }
    }

    private Dto.TenantNetworkView view(TenantSpec s) {
        long attached = ports.values().stream().filter(p -> p.tenantId().equals(s.tenantId())).count();
        return new Dto.TenantNetworkView(s.tenantId(), s.vni(), s.subnet().toString(), Ipv4.format(s.gateway()),
                forwarder.namespaceOf(s.tenantId()), (int) attached);
    }

    private void requireOn() {
        if (forwarder == null) {
            throw new ApiException(ProblemCode.CONFLICT, "sandbox networking is off on this host (" + ENABLED_KEY + "=false)");
        }
        if (closed) {
            throw new ApiException(ProblemCode.UNAVAILABLE, "hostd is stopping");
        }
    }

    private void requireNoPorts(String tenant, String what) {
        List<String> live = ports.values().stream().filter(p -> p.tenantId().equals(tenant)).map(SandboxPort::sandboxId).sorted().toList();
        if (!live.isEmpty()) {
            throw new ApiException(ProblemCode.CONFLICT, "the network of tenant " + tenant + " cannot be " + what + " while "
                    + live.size() + " sandbox(es) use it: " + live + "; delete them first");
        }
    }

    /** Under the write lock. */
    private void save() {
        file.save(new ArrayList<>(tenants.values()));
    }

    /**
     * Detaches what is still attached and deletes every tenant namespace of this daemon (the saved
     * list stays: the next start sets the tenants up again).
     */
    @PreDestroy
    @Override
    public void close() {
        lock.writeLock().lock();
        try {
            if (closed || forwarder == null) {
                return;
            }
            closed = true;
            ports.forEach((id, port) -> closeQuietly(port));
            ports.clear();
            for (String tenant : List.copyOf(tenants.keySet())) {
                try {
                    forwarder.removeTenant(tenant);
                } catch (RuntimeException e) {
                    LOG.warn("removing the network of tenant {} failed: {}", tenant, e.getMessage());
                }
            }
            closeForwarder();
        } finally {
            lock.writeLock().unlock();
        }
    }

    private void closeForwarder() {
        try {
            forwarder.close();
        } catch (RuntimeException e) {
            LOG.warn("closing the forwarder failed: {}", e.getMessage());
        }
    }

    /** The hostd.network.* settings, checked; errors name the key. */
    record NetworkSettings(String underlayNamespace, String localAddress, String gatewayAddress, String hostAddresses,
                           String namespacePrefix, int vxlanPort, int mtu, int tapPoolSize) {
        ForwarderConfig forwarderConfig() {
            int local = address("hostd.network.local-address", localAddress);
            int gateway = address("hostd.network.gateway-address", gatewayAddress);
            List<Ipv4Cidr> hosts = new ArrayList<>();
            for (String part : hostAddresses.split(",")) {
                if (!part.isBlank()) {
                    try {
                        hosts.add(Ipv4Cidr.parse(part.strip()));
                    } catch (IllegalArgumentException e) {
                        throw bad("hostd.network.host-addresses", hostAddresses, e.getMessage());
                    }
                }
            }
            String ns = underlayNamespace == null || underlayNamespace.isBlank() ? null : underlayNamespace.strip();
            try {
                // TAPs with virtio-net headers: the VMM's device reads and writes them (as in NetworkEndToEndIT)
                return new ForwarderConfig(namespacePrefix, ns, local, gateway, vxlanPort, mtu, hosts, tapPoolSize, true);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("invalid setting hostd.network.*: " + e.getMessage(), e);
            }
        }

        private static int address(String key, String value) {
            if (value == null || value.isBlank()) {
                throw bad(key, "", "required when hostd.network.enabled is true (an IPv4 address)");
            }
            try {
                return Ipv4.parse(value.strip());
            } catch (IllegalArgumentException e) {
                throw bad(key, value, e.getMessage());
            }
        }

        private static IllegalArgumentException bad(String key, String value, String why) {
            return new IllegalArgumentException("invalid setting " + key + "=" + value + ": " + why);
        }
    }
}
