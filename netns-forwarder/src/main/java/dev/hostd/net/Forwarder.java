package dev.hostd.net;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * The host side of sandbox networking (docs/network.md): per tenant a network namespace whose
 * bridge joins its sandboxes' TAPs to a VXLAN tunnel (one VNI per tenant VPC) over the shared ENI
 * to the gateway; nftables rules in that namespace enforce each sandbox's identity. The kernel
 * forwards every packet; this class only sets things up and tears them down.
 *
 * <p>Thread-safe. Work on one tenant is serialised on that tenant's namespace thread; tenants
 * proceed in parallel.
 */
public final class Forwarder implements AutoCloseable {
    private final ForwarderConfig config;
    private final SecureRandom random = new SecureRandom();
    /** Six hex digits in every TAP name this process makes, so names never collide with a predecessor's leftovers. */
    private final String tapTag;
    private final Map<String, TenantNetwork> tenants = new ConcurrentHashMap<>();
    private final Map<String, TenantNetwork> bySandbox = new ConcurrentHashMap<>();

    private Forwarder(ForwarderConfig config) {
        this.config = config;
        this.tapTag = HexFormat.of().toHexDigits(random.nextInt() & 0xFFFFFF, 6);
    }

    public static Forwarder open(ForwarderConfig config) {
        if (!Files.exists(Path.of("/dev/net/tun"))) {
            throw new NetException("open /dev/net/tun", "/dev/net/tun is missing: load the tun module");
        }
        return new Forwarder(config);
    }

    public ForwarderConfig config() {
        return config;
    }

    /** Sets up (or adopts) a tenant's namespace, bridge, tunnel and base rules. Slow path (iproute2). */
    public synchronized void addTenant(TenantSpec spec) {
        TenantNetwork existing = tenants.get(spec.tenantId());
        if (existing != null) {
            if (!existing.spec().equals(spec)) {
                throw new NetException("addTenant", "tenant " + spec.tenantId() + " is already set up with " + existing.spec());
            }
            return;
        }
        for (TenantNetwork t : tenants.values()) {
            if (t.spec().vni() == spec.vni()) {
                throw new NetException("addTenant", "VNI " + spec.vni() + " is already used by tenant " + t.spec().tenantId());
            }
        }
        tenants.put(spec.tenantId(), TenantNetwork.create(config, spec, tapTag, random));
    }

    /** Detaches the tenant's sandboxes and deletes its namespace (with its bridge, tunnel and rules). */
    public synchronized void removeTenant(String tenantId) {
        TenantNetwork t = tenants.remove(tenantId);
        if (t != null) {
            bySandbox.values().removeIf(x -> x == t);
            t.close();
            IpRoute.ip(null, "netns", "del", t.namespace());
        }
    }

    /**
     * Attaches sandbox {@code sandboxId} to its tenant's network: allocates its MAC and address,
     * hands it a TAP and installs its rules. The fast path: ioctl, netlink and libnftables on the
     * tenant's namespace thread, no process forked.
     *
     * @param bytesPerSecond rate limit of what the sandbox sends; 0 for none
     */
    public SandboxPort attach(String tenantId, String sandboxId, long bytesPerSecond) {
        TenantNetwork t = tenants.get(tenantId);
        if (t == null) {
            throw new NetException("attach", "tenant " + tenantId + " has no network: addTenant first");
        }
        if (bySandbox.putIfAbsent(sandboxId, t) != null) {
            throw new NetException("attach", "sandbox " + sandboxId + " is already attached");
        }
        try {
            return t.attach(this, sandboxId, bytesPerSecond);
        } catch (RuntimeException e) {
            bySandbox.remove(sandboxId);
            throw e;
        }
    }

    public SandboxPort attach(String tenantId, String sandboxId) {
        return attach(tenantId, sandboxId, 0);
    }

    /** Closes the sandbox's TAP, removes its rules and frees its lease; false if it was not attached. */
    public boolean detach(String sandboxId) {
        TenantNetwork t = bySandbox.remove(sandboxId);
        return t != null && t.detach(sandboxId);
    }

    /** Removes, in every tenant this forwarder has set up, what belongs to no sandbox in {@code live}. */
    public Set<String> reconcile(Set<String> live) {
        Set<String> removed = new TreeSet<>();
        for (TenantNetwork t : List.copyOf(tenants.values())) {
            Set<String> gone = t.reconcile(live);
            gone.forEach(bySandbox::remove);
            removed.addAll(gone);
        }
        return removed;
    }

    /** Deletes tenant namespaces with this forwarder's prefix whose tenant is not in {@code liveTenants}. */
    public synchronized Set<String> removeStaleTenants(Set<String> liveTenants) {
        Set<String> removed = new TreeSet<>();
        for (String ns : tenantNamespaces()) {
            String tenant = ns.substring(config.namespacePrefix().length());
            if (!liveTenants.contains(tenant)) {
                if (tenants.containsKey(tenant)) {
                    removeTenant(tenant);
                } else {
                    IpRoute.ip(null, "netns", "del", ns);
                }
                removed.add(tenant);
            }
        }
        return removed;
    }

    /** Names of the namespaces in /run/netns with this forwarder's prefix. */
    public List<String> tenantNamespaces() {
        Path dir = Path.of("/run/netns");
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(config.namespacePrefix())).sorted().toList();
        } catch (IOException e) {
            throw new NetException("list /run/netns", "cannot list /run/netns: " + e.getMessage(), e);
        }
    }

    /** Frames dropped for sandbox {@code sandboxId}, by reason. */
    public DropCounters dropCounters(String sandboxId) {
        TenantNetwork t = bySandbox.get(sandboxId);
        if (t == null) {
            throw new NetException("dropCounters", "sandbox " + sandboxId + " is not attached");
        }
        return t.counters(sandboxId);
    }

    /** Frames dropped in the tenant's namespace because their TAP belongs to no sandbox. */
    public long unassignedDrops(String tenantId) {
        return tenant(tenantId).unassignedDrops();
    }

    /** TAPs made ahead and waiting in the tenant's pool. */
    public int pooledTaps(String tenantId) {
        return tenant(tenantId).pooled();
    }

    /** The namespace of a tenant's network (/run/netns/&lt;name&gt;). */
    public String namespaceOf(String tenantId) {
        return config.namespacePrefix() + tenantId;
    }

    private TenantNetwork tenant(String tenantId) {
        TenantNetwork t = tenants.get(tenantId);
        if (t == null) {
            throw new NetException("tenant", "tenant " + tenantId + " has no network");
        }
        return t;
    }

    /** Detaches every sandbox and stops the namespace threads; namespaces stay (removeTenant deletes them). */
    @Override
    public synchronized void close() {
        RuntimeException first = null;
        for (TenantNetwork t : tenants.values()) {
            try {
                t.close();
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        tenants.clear();
        bySandbox.clear();
        if (first != null) {
            throw first;
        }
    }
}
