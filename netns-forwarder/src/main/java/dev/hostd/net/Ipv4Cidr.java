package dev.hostd.net;

/** An IPv4 network, e.g. 198.18.0.0/24; host bits must be zero. */
public record Ipv4Cidr(int network, int prefixLength) {
    public Ipv4Cidr {
        if (prefixLength < 0 || prefixLength > 32) {
            throw new IllegalArgumentException("IPv4 prefix length must be 0..32, got " + prefixLength);
        }
        if ((network & ~mask(prefixLength)) != 0) {
            throw new IllegalArgumentException(Ipv4.format(network) + "/" + prefixLength + " has host bits set; the network is "
                    + Ipv4.format(network & mask(prefixLength)) + "/" + prefixLength);
        }
    }

    /** Parses "198.18.0.0/24" (a bare address means /32). */
    public static Ipv4Cidr parse(String text) {
        int slash = text.indexOf('/');
        if (slash < 0) {
            return new Ipv4Cidr(Ipv4.parse(text), 32);
        }
        String prefix = text.substring(slash + 1);
        if (!prefix.matches("[0-9]{1,2}")) {
            throw new IllegalArgumentException("CIDR '" + text + "' has a bad prefix length '" + prefix + "'");
        }
        return new Ipv4Cidr(Ipv4.parse(text.substring(0, slash)), Integer.parseInt(prefix));
    }

    public boolean contains(int ip) {
        return (ip & mask(prefixLength)) == network;
    }

    public int broadcast() {
        return network | ~mask(prefixLength);
    }

    public long size() {
        return 1L << (32 - prefixLength);
    }

    static int mask(int prefixLength) {
        return prefixLength == 0 ? 0 : -1 << (32 - prefixLength);
    }

    @Override
    public String toString() {
        return Ipv4.format(network) + "/" + prefixLength;
    }
}
