package dev.hostd.net.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/**
 * TAP devices through /dev/net/tun ({@code <linux/if_tun.h>}). The device is created in the
 * network namespace of the thread that opened /dev/net/tun, so callers open it on a thread that
 * has entered the tenant's namespace.
 */
public final class Tun {
    /** _IOW('T', 202, int). */
    public static final long TUNSETIFF = 0x400454caL;
    public static final short IFF_TAP = 0x0002, IFF_NO_PI = 0x1000, IFF_VNET_HDR = 0x4000;
    /** struct ifreq: char ifr_name[16]; union { short ifr_flags; ... } (40 bytes on x86-64). */
    static final int IFREQ_SIZE = 40, IFNAMSIZ = 16;

    private Tun() {}

    /**
     * Opens /dev/net/tun and makes a TAP named {@code name} on it; returns the fd. The TAP lives as
     * long as the fd (not persistent): closing the fd removes the device, its bridge port and its
     * addresses, which is what makes a crashed hostd leave no TAP behind.
     */
    public static int openTap(String name, boolean vnetHeader) {
        byte[] bytes = name.getBytes(StandardCharsets.US_ASCII);
        if (bytes.length == 0 || bytes.length >= IFNAMSIZ) {
            throw new IllegalArgumentException("interface name '" + name + "' must be 1-15 ASCII characters");
        }
        int fd = Libc.open("/dev/net/tun", Libc.O_RDWR);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ifr = arena.allocate(IFREQ_SIZE);
            MemorySegment.copy(bytes, 0, ifr, ValueLayout.JAVA_BYTE, 0, bytes.length);
            ifr.set(ValueLayout.JAVA_SHORT, IFNAMSIZ, (short) (IFF_TAP | IFF_NO_PI | (vnetHeader ? IFF_VNET_HDR : 0)));
            Libc.ioctl(fd, TUNSETIFF, ifr, "TUNSETIFF " + name);
            return fd;
        } catch (RuntimeException e) {
            Libc.close(fd);
            throw e;
        }
    }
}
