package dev.hostd.net;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.random.RandomGenerator;

/**
 * IPv4 and MAC addresses of one tenant's sandboxes. An address is never handed out while a
 * sandbox holds it; freed addresses are reused last (a cursor walks the subnet) so that stale ARP
 * entries in the VPC rarely point at a new sandbox. MACs are random locally administered unicast
 * addresses (first octet 0x02 bit set, 0x01 bit clear), unique within the tenant.
 */
public final class AddressAllocator {
    private final TenantSpec tenant;
    private final RandomGenerator random;
    private final Map<String, Lease> bySandbox = new HashMap<>();
    private final Set<Integer> ips = new HashSet<>();
    private final Set<Long> macs = new HashSet<>();
    private int cursor;

    public AddressAllocator(TenantSpec tenant, RandomGenerator random) {
        this.tenant = tenant;
        this.random = random;
        this.cursor = tenant.subnet().network() + 1;
    }

    /** A new lease for {@code sandboxId}; fails if it already holds one or the subnet is full. */
    public synchronized Lease allocate(String sandboxId) {
        if (bySandbox.containsKey(sandboxId)) {
            throw new NetException("allocate", "sandbox " + sandboxId + " of tenant " + tenant.tenantId() + " already holds " + bySandbox.get(sandboxId));
        }
        Ipv4Cidr subnet = tenant.subnet();
        int first = subnet.network() + 1, last = subnet.broadcast() - 1, size = last - first + 1;
        for (int i = 0; i < size; i++) {
            int candidate = first + Math.floorMod(cursor - first + i, size);
            if (candidate != tenant.gateway() && !ips.contains(candidate)) {
                cursor = candidate == last ? first : candidate + 1;
                return hold(sandboxId, candidate, newMac());
            }
        }
        throw new NetException("allocate", "tenant " + tenant.tenantId() + " has no free address left in " + subnet);
    }

    /** Re-registers a lease a sandbox already holds (adopting sandboxes after a restart). */
    public synchronized Lease claim(String sandboxId, int ipv4, byte[] mac) {
        if (!tenant.subnet().contains(ipv4) || ipv4 == tenant.gateway() || ipv4 == tenant.subnet().network() || ipv4 == tenant.subnet().broadcast()) {
            throw new NetException("claim", Ipv4.format(ipv4) + " is not a sandbox address of tenant " + tenant.tenantId() + " (" + tenant.subnet() + ")");
        }
        if ((mac[0] & 1) != 0) {
            throw new NetException("claim", "MAC of sandbox " + sandboxId + " is multicast");
        }
        if (bySandbox.containsKey(sandboxId) || ips.contains(ipv4) || macs.contains(macKey(mac))) {
            throw new NetException("claim", "sandbox " + sandboxId + ", address " + Ipv4.format(ipv4) + " or its MAC is already held in tenant " + tenant.tenantId());
        }
        return hold(sandboxId, ipv4, mac);
    }

    /** Frees what {@code sandboxId} holds; no-op if it holds nothing. */
    public synchronized void release(String sandboxId) {
        Lease lease = bySandbox.remove(sandboxId);
        if (lease != null) {
            ips.remove(lease.ipv4());
            macs.remove(macKey(lease.mac()));
        }
    }

    public synchronized Lease lease(String sandboxId) {
        return bySandbox.get(sandboxId);
    }

    public synchronized int held() {
        return bySandbox.size();
    }

    private Lease hold(String sandboxId, int ip, byte[] mac) {
        Lease lease = new Lease(tenant.tenantId(), sandboxId, mac, ip, tenant.subnet().prefixLength(), tenant.gateway());
        bySandbox.put(sandboxId, lease);
        ips.add(ip);
        macs.add(macKey(mac));
        return lease;
    }

    private byte[] newMac() {
        while (true) {
            byte[] mac = new byte[6];
            random.nextBytes(mac);
            mac[0] = (byte) ((mac[0] & 0xFC) | 0x02); // unicast, locally administered
            if (!macs.contains(macKey(mac))) {
                return mac;
            }
        }
    }

    private static long macKey(byte[] mac) {
        long k = 0;
        for (byte b : mac) {
            k = (k << 8) | (b & 0xff);
        }
        return k;
    }
}
