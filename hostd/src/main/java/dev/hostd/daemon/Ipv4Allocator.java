package dev.hostd.daemon;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * IPv4 addresses of live sandboxes, unique per tenant. Addresses the daemon picks come from
 * 198.18.0.0/15 (RFC 2544 benchmarking space, never routed), skipping the network address, the
 * gateway 198.18.0.1 and the broadcast address; addresses a client names are only checked for
 * uniqueness within the tenant.
 */
final class Ipv4Allocator {
    static final int POOL_BASE = (198 << 24) | (18 << 16);
    static final int POOL_PREFIX = 15;
    static final int GATEWAY = POOL_BASE | 1;
    private static final int FIRST = POOL_BASE + 2, LAST = POOL_BASE + (1 << (32 - POOL_PREFIX)) - 2;

    private final Map<String, Set<Integer>> used = new HashMap<>();
    private final Map<String, Integer> cursor = new HashMap<>();

    /** Picks a free address of the pool for {@code tenant}. */
    synchronized int allocate(String tenant) {
        Set<Integer> taken = used.computeIfAbsent(tenant, t -> new HashSet<>());
        int size = LAST - FIRST + 1;
        int start = cursor.getOrDefault(tenant, FIRST);
        for (int i = 0; i < size; i++) {
            int candidate = FIRST + Math.floorMod(start - FIRST + i, size);
            if (taken.add(candidate)) {
                cursor.put(tenant, candidate + 1 > LAST ? FIRST : candidate + 1);
                return candidate;
            }
        }
        throw new ApiException(ProblemCode.LIMIT_EXCEEDED, "tenant " + tenant + " has no free address left in 198.18.0.0/15");
    }

    /** Reserves an address the client chose; conflict if the tenant already uses it. */
    synchronized void claim(String tenant, int address) {
        if (!used.computeIfAbsent(tenant, t -> new HashSet<>()).add(address)) {
            throw new ApiException(ProblemCode.CONFLICT, "IPv4 address " + format(address) + " is already used by a sandbox of tenant " + tenant);
        }
    }

    synchronized void release(String tenant, int address) {
        Set<Integer> taken = used.get(tenant);
        if (taken != null && taken.remove(address) && taken.isEmpty()) {
            used.remove(tenant);
            cursor.remove(tenant);
        }
    }

    static int toInt(byte[] ip) {
        return ((ip[0] & 0xff) << 24) | ((ip[1] & 0xff) << 16) | ((ip[2] & 0xff) << 8) | (ip[3] & 0xff);
    }

    static byte[] toBytes(int ip) {
        return new byte[] {(byte) (ip >>> 24), (byte) (ip >>> 16), (byte) (ip >>> 8), (byte) ip};
    }

    static String format(int ip) {
        return (ip >>> 24) + "." + ((ip >>> 16) & 0xff) + "." + ((ip >>> 8) & 0xff) + "." + (ip & 0xff);
    }
}
