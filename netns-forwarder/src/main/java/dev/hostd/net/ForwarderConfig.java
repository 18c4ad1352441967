package dev.hostd.net;

import java.util.List;
import java.util.regex.Pattern;

/**
 * Where the forwarder sends tenant traffic and how it names what it makes.
 *
 * @param namespacePrefix   prefix of the tenant namespaces ({@code <prefix><tenant>}); reconcile only
 *                          ever touches namespaces with this prefix
 * @param underlayNamespace namespace holding the shared ENI, where the VXLAN sockets live; null for
 *                          hostd's own namespace (production); tests pass a namespace they made
 * @param underlayLocal     this host's address on the shared ENI (VXLAN source)
 * @param gatewayUnderlay   the gateway's address on the ENI's network (VXLAN destination)
 * @param vxlanPort         UDP port of the VXLAN tunnels (4789, IANA)
 * @param mtu               MTU of TAPs, bridge and VXLAN devices: the ENI's MTU minus 50 bytes of
 *                          VXLAN, UDP, IPv4 and inner Ethernet headers
 * @param hostAddresses     addresses of the host (and of anything else sandboxes must never
 *                          reach); the underlay address is always added
 * @param tapPoolSize       TAPs kept made ahead per tenant (0 = make each at attach)
 * @param vnetHeader        open TAPs with IFF_VNET_HDR (the VMM then reads/writes virtio-net headers)
 */
public record ForwarderConfig(String namespacePrefix, String underlayNamespace, int underlayLocal, int gatewayUnderlay,
                              int vxlanPort, int mtu, List<Ipv4Cidr> hostAddresses, int tapPoolSize, boolean vnetHeader) {
    private static final Pattern PREFIX = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,23}");

    public ForwarderConfig {
        if (namespacePrefix == null || !PREFIX.matcher(namespacePrefix).matches()) {
            throw new IllegalArgumentException("namespace prefix '" + namespacePrefix + "' must be 1-24 of [A-Za-z0-9._-]");
        }
        if (vxlanPort < 1 || vxlanPort > 65535) {
            throw new IllegalArgumentException("VXLAN port must be 1..65535, got " + vxlanPort);
        }
        if (mtu < 576 || mtu > 9000) {
            throw new IllegalArgumentException("MTU must be 576..9000, got " + mtu);
        }
        if (tapPoolSize < 0 || tapPoolSize > 1024) {
            throw new IllegalArgumentException("TAP pool size must be 0..1024, got " + tapPoolSize);
        }
        hostAddresses = List.copyOf(hostAddresses);
    }

    /** Defaults: prefix "hostd-t-", VXLAN port 4789, MTU 1450 (a 1500-byte ENI), 4 pooled TAPs per tenant. */
    public static ForwarderConfig of(String underlayNamespace, int underlayLocal, int gatewayUnderlay, List<Ipv4Cidr> hostAddresses) {
        return new ForwarderConfig("hostd-t-", underlayNamespace, underlayLocal, gatewayUnderlay, 4789, 1450, hostAddresses, 4, false);
    }

    public ForwarderConfig withPrefix(String prefix) {
        return new ForwarderConfig(prefix, underlayNamespace, underlayLocal, gatewayUnderlay, vxlanPort, mtu, hostAddresses, tapPoolSize, vnetHeader);
    }

    public ForwarderConfig withTapPool(int size) {
        return new ForwarderConfig(namespacePrefix, underlayNamespace, underlayLocal, gatewayUnderlay, vxlanPort, mtu, hostAddresses, size, vnetHeader);
    }
}
