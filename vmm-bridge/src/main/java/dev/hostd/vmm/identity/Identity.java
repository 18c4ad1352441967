package dev.hostd.vmm.identity;

import java.util.Arrays;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * What makes a clone a machine of its own on the network and to its tenant (docs/guest-abi.md).
 * Validated on construction, so an invalid identity never reaches a guest.
 */
public record Identity(byte[] mac, byte[] ipv4, int prefixLength, byte[] gateway, String hostname, String sandboxId, String tenantId) {
    private static final Pattern HOST_LABEL = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?");
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");

    public Identity {
        if (mac == null || mac.length != 6) {
            throw new IllegalArgumentException("MAC address must be 6 bytes");
        }
        if ((mac[0] & 1) != 0) {
            throw new IllegalArgumentException("MAC address " + formatMac(mac) + " is multicast; a sandbox needs a unicast address");
        }
        if (ipv4 == null || ipv4.length != 4 || gateway == null || gateway.length != 4) {
            throw new IllegalArgumentException("IPv4 address and gateway must be 4 bytes each");
        }
        if (prefixLength < 1 || prefixLength > 32) {
            throw new IllegalArgumentException("IPv4 prefix length must be 1..32, got " + prefixLength);
        }
        if (hostname == null || hostname.length() > 63 || !Arrays.stream(hostname.split("\\.", -1)).allMatch(l -> HOST_LABEL.matcher(l).matches())) {
            throw new IllegalArgumentException("hostname '" + hostname + "' is not a valid host name of at most 63 characters");
        }
        if (sandboxId == null || !ID.matcher(sandboxId).matches()) {
            throw new IllegalArgumentException("sandbox id '" + sandboxId + "' must be 1-63 of [A-Za-z0-9._-], starting with a letter or digit");
        }
        if (tenantId == null || !ID.matcher(tenantId).matches()) {
            throw new IllegalArgumentException("tenant id '" + tenantId + "' must be 1-63 of [A-Za-z0-9._-], starting with a letter or digit");
        }
        mac = mac.clone();
        ipv4 = ipv4.clone();
        gateway = gateway.clone();
    }

    @Override
    public byte[] mac() {
        return mac.clone();
    }

    @Override
    public byte[] ipv4() {
        return ipv4.clone();
    }

    @Override
    public byte[] gateway() {
        return gateway.clone();
    }

    /** Parses "02:00:00:00:00:01". */
    public static byte[] parseMac(String text) {
        String[] parts = text.split(":");
        if (parts.length != 6) {
            throw new IllegalArgumentException("MAC address '" + text + "' is not six colon-separated hex bytes");
        }
        byte[] mac = new byte[6];
        for (int i = 0; i < 6; i++) {
            if (!parts[i].matches("[0-9A-Fa-f]{2}")) {
                throw new IllegalArgumentException("MAC address '" + text + "' has a bad byte '" + parts[i] + "'");
            }
            mac[i] = (byte) Integer.parseInt(parts[i], 16);
        }
        return mac;
    }

    /** Parses dotted-quad IPv4 without any name lookup. */
    public static byte[] parseIpv4(String text) {
        String[] parts = text.split("\\.", -1);
        if (parts.length != 4) {
            throw new IllegalArgumentException("IPv4 address '" + text + "' is not four dot-separated numbers");
        }
        byte[] ip = new byte[4];
        for (int i = 0; i < 4; i++) {
            if (!parts[i].matches("0|[1-9][0-9]{0,2}") || Integer.parseInt(parts[i]) > 255) {
                throw new IllegalArgumentException("IPv4 address '" + text + "' has a bad part '" + parts[i] + "'");
            }
            ip[i] = (byte) Integer.parseInt(parts[i]);
        }
        return ip;
    }

    public static String formatMac(byte[] mac) {
        return HexFormat.ofDelimiter(":").formatHex(mac);
    }

    public static String formatIpv4(byte[] ip) {
        return (ip[0] & 0xFF) + "." + (ip[1] & 0xFF) + "." + (ip[2] & 0xFF) + "." + (ip[3] & 0xFF);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Identity other && Arrays.equals(mac, other.mac) && Arrays.equals(ipv4, other.ipv4)
                && prefixLength == other.prefixLength && Arrays.equals(gateway, other.gateway)
                && hostname.equals(other.hostname) && sandboxId.equals(other.sandboxId) && tenantId.equals(other.tenantId);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(mac) * 31 + sandboxId.hashCode();
    }

    @Override
    public String toString() {
        return "Identity[" + sandboxId + " tenant=" + tenantId + " mac=" + formatMac(mac) + " ip=" + formatIpv4(ipv4) + "/"
                + prefixLength + " gw=" + formatIpv4(gateway) + " host=" + hostname + "]";
    }
}
