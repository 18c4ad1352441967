package dev.hostd.daemon;

import dev.hostd.template.TemplateSpec;
import dev.hostd.vmm.identity.Identity;

/**
 * A create request checked in full before anything is taken: ids, MAC, addresses, hostname and
 * limits, with the defaults filled in. Only the IPv4 address (allocated from the tenant's pool
 * unless requested) is decided later.
 */
record SandboxPlan(Dto.SandboxRequest request, String id, byte[] mac, byte[] requestedIp, int prefix, byte[] gateway,
                   String hostname, SandboxLimits limits) {
    static final int DEFAULT_PREFIX = 15;

    static SandboxPlan of(Dto.SandboxRequest r, RandomIds ids, SandboxCgroups cgroups) {
        if (r == null) {
            throw new ApiException(ProblemCode.INVALID_INPUT, "a sandbox needs a JSON body with at least \"template\" and \"tenant\"");
        }
        if (r.template() == null) {
            throw new ApiException(ProblemCode.INVALID_INPUT, "template is required");
        }
        if (r.tenant() == null) {
            throw new ApiException(ProblemCode.INVALID_INPUT, "tenant is required");
        }
        TemplateSpec.validateId(r.template());
        String id = r.id() != null ? r.id() : "sbx-" + ids.hex(6);
        byte[] mac = r.mac() != null ? Identity.parseMac(r.mac()) : ids.mac();
        byte[] requestedIp = r.ipv4() != null ? Identity.parseIpv4(r.ipv4()) : null;
        int prefix = r.prefixLength() != null ? r.prefixLength() : DEFAULT_PREFIX;
        byte[] gateway = r.gateway() != null ? Identity.parseIpv4(r.gateway()) : Ipv4Allocator.toBytes(Ipv4Allocator.GATEWAY);
        String hostname = r.hostname() != null ? r.hostname() : id;
        SandboxLimits limits = SandboxLimits.of(r.limits(), cgroups.defaults());
        if (r.limits() != null && !cgroups.enabled()) {
            // Accepting limits that nothing enforces would mislead the caller.
            throw new ApiException(ProblemCode.INVALID_INPUT, "limits need sandbox cgroups, and this daemon runs with "
                    + SandboxCgroups.ENABLED_KEY + "=false: leave \"limits\" out or enable cgroups", SandboxCgroups.ENABLED_KEY);
        }
        SandboxPlan plan = new SandboxPlan(r, id, mac, requestedIp, prefix, gateway, hostname, limits);
        // Validates everything (ids, tenant, MAC unicast, prefix, hostname) before any resource is taken.
        plan.identity(requestedIp != null ? requestedIp : Ipv4Allocator.toBytes(Ipv4Allocator.POOL_BASE + 2));
        return plan;
    }

    /** The sandbox's identity with {@code ipv4}, its address from the tenant's pool. */
    Identity identity(byte[] ipv4) {
        return new Identity(mac, ipv4, prefix, gateway, hostname, id, request.tenant());
    }
}
