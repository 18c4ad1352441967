package dev.hostd.net;

/** IPv4 addresses as ints (network order: the first octet in the top byte), parsed without lookups. */
public final class Ipv4 {
    private Ipv4() {}

    /** Parses a dotted quad; the error names the text and the bad part. */
    public static int parse(String text) {
        String[] parts = text.split("\\.", -1);
        if (parts.length != 4) {
            throw new IllegalArgumentException("IPv4 address '" + text + "' is not four dot-separated numbers");
        }
        int ip = 0;
        for (String part : parts) {
            if (!part.matches("0|[1-9][0-9]{0,2}") || Integer.parseInt(part) > 255) {
                throw new IllegalArgumentException("IPv4 address '" + text + "' has a bad part '" + part + "'");
            }
            ip = (ip << 8) | Integer.parseInt(part);
        }
        return ip;
    }

    public static String format(int ip) {
        return (ip >>> 24) + "." + ((ip >>> 16) & 0xff) + "." + ((ip >>> 8) & 0xff) + "." + (ip & 0xff);
    }

    public static byte[] toBytes(int ip) {
        return new byte[] {(byte) (ip >>> 24), (byte) (ip >>> 16), (byte) (ip >>> 8), (byte) ip};
    }

    public static int fromBytes(byte[] ip) {
        return ((ip[0] & 0xff) << 24) | ((ip[1] & 0xff) << 16) | ((ip[2] & 0xff) << 8) | (ip[3] & 0xff);
    }
}
