package dev.hostd.daemon;

import dev.hostd.net.Ipv4;
import dev.hostd.net.Ipv4Cidr;
import dev.hostd.net.TenantSpec;

/**
 * Checks a {@code PUT /v1/tenants/{tenant}/network} body; each error names the member that is wrong.
 * The rules are {@link TenantSpec}'s (its constructor checks them again as invariants); this only
 * says which JSON member broke one.
 */
final class TenantNetworkRequests {

    private TenantNetworkRequests() {}

    static void validateTenant(String tenant) {
        if (!TenantSpec.validId(tenant)) {
            throw invalid("tenant '" + tenant + "' must be 1-63 of [A-Za-z0-9._-], starting with a letter or digit");
        }
    }

    static TenantSpec validate(String tenant, Dto.TenantNetworkRequest r) {
        validateTenant(tenant);
        if (r == null) {
            throw invalid("a tenant network needs a JSON body {\"vni\",\"cidr\",\"gateway\"}");
        }
        if (r.vni() == null) {
            throw invalid("vni is required (the VXLAN network identifier of the tenant's VPC, 1.." + TenantSpec.MAX_VNI + ")");
        }
        if (r.vni() < 1 || r.vni() > TenantSpec.MAX_VNI) {
            throw invalid("vni must be 1.." + TenantSpec.MAX_VNI + "; got " + r.vni());
        }
        if (r.cidr() == null) {
            throw invalid("cidr is required (the sandboxes' subnet, e.g. 198.18.0.0/24)");
        }
        Ipv4Cidr cidr;
        try {
            cidr = Ipv4Cidr.parse(r.cidr());
        } catch (IllegalArgumentException e) {
            throw invalid("cidr '" + r.cidr() + "' is not an IPv4 network a.b.c.d/n: " + e.getMessage());
        }
        if (r.cidr().indexOf('/') < 0 || cidr.prefixLength() < TenantSpec.MIN_PREFIX || cidr.prefixLength() > TenantSpec.MAX_PREFIX) {
            throw invalid("cidr '" + r.cidr() + "' must have a prefix length of /" + TenantSpec.MIN_PREFIX + "../" + TenantSpec.MAX_PREFIX);
        }
        if (r.gateway() == null) {
            throw invalid("gateway is required (the VPC gateway's address inside cidr)");
        }
        int gateway;
        try {
            gateway = Ipv4.parse(r.gateway());
        } catch (IllegalArgumentException e) {
            throw invalid("gateway '" + r.gateway() + "' is not an IPv4 address: " + e.getMessage());
        }
        if (!cidr.contains(gateway) || gateway == cidr.network() || gateway == cidr.broadcast()) {
            throw invalid("gateway " + r.gateway() + " is not a host address inside cidr " + cidr);
        }
        return new TenantSpec(tenant, r.vni(), cidr, gateway);
    }

    private static ApiException invalid(String detail) {
        return new ApiException(ProblemCode.INVALID_INPUT, detail);
    }
}
