package dev.hostd.template;

import dev.hostd.vmm.identity.Identity;
import java.util.HashMap;
import java.util.Map;

/**
 * The identities of live sandboxes, so two clones never share one: a sandbox id, a MAC address,
 * and an IPv4 address within a tenant are each held by at most one live sandbox.
 */
final class IdentityRegistry {
    private final Map<String, String> sandboxIds = new HashMap<>();
    private final Map<String, String> macs = new HashMap<>();
    private final Map<String, String> tenantIps = new HashMap<>();

    synchronized void reserve(Identity identity) {
        String id = identity.sandboxId();
        String mac = Identity.formatMac(identity.mac());
        String ip = identity.tenantId() + "/" + Identity.formatIpv4(identity.ipv4());
        if (sandboxIds.containsKey(id)) {
            throw conflict("sandbox id " + id + " is already in use");
        }
        if (macs.containsKey(mac)) {
            throw conflict("MAC address " + mac + " is already used by sandbox " + macs.get(mac));
        }
        if (tenantIps.containsKey(ip)) {
            throw conflict("IPv4 address " + Identity.formatIpv4(identity.ipv4()) + " of tenant " + identity.tenantId()
                    + " is already used by sandbox " + tenantIps.get(ip));
        }
        sandboxIds.put(id, id);
        macs.put(mac, id);
        tenantIps.put(ip, id);
    }

    synchronized void release(Identity identity) {
        sandboxIds.remove(identity.sandboxId());
        macs.remove(Identity.formatMac(identity.mac()));
        tenantIps.remove(identity.tenantId() + "/" + Identity.formatIpv4(identity.ipv4()));
    }

    synchronized int size() {
        return sandboxIds.size();
    }

    private static TemplateException conflict(String message) {
        return new TemplateException(TemplateException.Kind.CONFLICT, message);
    }
}
