package dev.hostd.daemon;

import java.security.SecureRandom;
import java.util.HexFormat;

/** Random sandbox ids and MACs for requests that leave them out. */
final class RandomIds {
    private final SecureRandom random = new SecureRandom();

    /** A random locally administered unicast MAC (x2:xx:...): never a vendor's, never multicast. */
    byte[] mac() {
        byte[] mac = new byte[6];
        random.nextBytes(mac);
        mac[0] = (byte) ((mac[0] & 0xfc) | 0x02);
        return mac;
    }

    /** {@code bytes} random bytes as lower-case hex. */
    String hex(int bytes) {
        byte[] b = new byte[bytes];
        random.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }
}
