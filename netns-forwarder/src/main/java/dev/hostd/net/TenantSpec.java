package dev.hostd.net;

import java.util.regex.Pattern;

/**
 * A tenant's network: its VPC's VXLAN network identifier, the subnet its sandboxes get addresses
 * from (may overlap with other tenants'), and the gateway address in that subnet, which lives on the
 * VPC side of the tunnel (the forwarder itself has no address in the tenant's network).
 */
public record TenantSpec(String tenantId, int vni, Ipv4Cidr subnet, int gateway) {
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");
    public static final int MAX_VNI = 0xFFFFFF, MIN_PREFIX = 8, MAX_PREFIX = 30;

    /** Whether {@code id} is a valid tenant id: 1-63 of [A-Za-z0-9._-], starting with a letter or digit. */
    public static boolean validId(String id) {
        return id != null && ID.matcher(id).matches();
    }

    public TenantSpec {
        if (!validId(tenantId)) {
            throw new IllegalArgumentException("tenant id '" + tenantId + "' must be 1-63 of [A-Za-z0-9._-], starting with a letter or digit");
        }
        if (vni < 1 || vni > MAX_VNI) {
            throw new IllegalArgumentException("VNI of tenant " + tenantId + " must be 1.." + MAX_VNI + ", got " + vni);
        }
        if (subnet == null || subnet.prefixLength() > MAX_PREFIX || subnet.prefixLength() < MIN_PREFIX) {
            throw new IllegalArgumentException("subnet of tenant " + tenantId + " must be a /" + MIN_PREFIX + "../" + MAX_PREFIX + " network, got " + subnet);
        }
        if (!subnet.contains(gateway) || gateway == subnet.network() || gateway == subnet.broadcast()) {
            throw new IllegalArgumentException("gateway " + Ipv4.format(gateway) + " of tenant " + tenantId + " is not a host address of " + subnet);
        }
    }
}
