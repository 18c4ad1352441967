package dev.hostd.net;

import java.util.HexFormat;

/**
 * The network identity a sandbox holds while it lives: a locally administered unicast MAC and an
 * address in its tenant's subnet, with the prefix and gateway its guest configures (these go into
 * the guest's identity page).
 */
public record Lease(String tenantId, String sandboxId, byte[] mac, int ipv4, int prefixLength, int gateway) {
    public Lease {
        mac = mac.clone();
    }

    @Override
    public byte[] mac() {
        return mac.clone();
    }

    public String macText() {
        return HexFormat.ofDelimiter(":").formatHex(mac);
    }

    public String ipText() {
        return Ipv4.format(ipv4);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Lease l && tenantId.equals(l.tenantId) && sandboxId.equals(l.sandboxId)
                && java.util.Arrays.equals(mac, l.mac) && ipv4 == l.ipv4 && prefixLength == l.prefixLength && gateway == l.gateway;
    }

    @Override
    public int hashCode() {
        return sandboxId.hashCode() * 31 + ipv4;
    }

    @Override
    public String toString() {
        return "Lease[" + tenantId + "/" + sandboxId + " mac=" + macText() + " ip=" + ipText() + "/" + prefixLength + " gw=" + Ipv4.format(gateway) + "]";
    }
}
