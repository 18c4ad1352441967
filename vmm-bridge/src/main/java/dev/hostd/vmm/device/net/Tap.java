package dev.hostd.vmm.device.net;

import dev.hostd.vmm.VmmException;
import dev.hostd.vmm.internal.linux.Errno;
import dev.hostd.vmm.internal.linux.Libc;
import dev.hostd.vmm.internal.linux.NetLibc;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Pattern;

/**
 * One open TAP queue: the owner of its fd, always non-blocking. Opened by name (the kernel creates
 * the device if it does not exist, and removes such a device when its last fd closes) in this
 * thread's network namespace or another's, or adopted from an fd someone else opened (the
 * netns-forwarder's pre-made TAPs). With a virtio-net header ({@code IFF_VNET_HDR}) every frame on
 * the fd is preceded by the 12-byte {@code virtio_net_hdr_v1}; without, frames are bare.
 */
public final class Tap implements AutoCloseable {
    static final long TUNSETIFF = 0x400454caL, TUNGETIFF = 0x800454d2L, TUNSETVNETHDRSZ = 0x400454d8L, TUNSETOFFLOAD = 0x400454d0L;
    static final int IFF_TAP = 0x0002, IFF_NO_PI = 0x1000, IFF_VNET_HDR = 0x4000;
    static final int IFREQ_BYTES = 40, IFR_FLAGS = 16;
    /** virtio_net_hdr_v1 (with num_buffers): what VERSION_1 devices use, so TAP and guest agree byte for byte. */
    public static final int VNET_HEADER_BYTES = 12;
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.-]{1,15}");

    private final int fd;
    private final String name;
    private final boolean vnetHeader;
    private final AtomicBoolean closed = new AtomicBoolean();

    private Tap(int fd, String name, boolean vnetHeader) {
        this.fd = fd;
        this.name = name;
        this.vnetHeader = vnetHeader;
    }

    /** Opens (creating if needed) TAP {@code name} in this thread's network namespace, with a virtio-net header. */
    public static Tap open(String name) {
        return open(name, true);
    }

    public static Tap open(String name, boolean vnetHeader) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new VmmException(VmmException.Kind.INVALID_INPUT, "open TAP", "TAP name '" + name + "' must be 1-15 of [A-Za-z0-9_.-]");
        }
        int fd = Libc.open("/dev/net/tun", Libc.O_RDWR | Libc.O_CLOEXEC | NetLibc.O_NONBLOCK, 0);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ifr = arena.allocate(IFREQ_BYTES);
            byte[] n = name.getBytes(StandardCharsets.US_ASCII);
            MemorySegment.copy(n, 0, ifr, ValueLayout.JAVA_BYTE, 0, n.length);
            ifr.set(ValueLayout.JAVA_SHORT, IFR_FLAGS, (short) (IFF_TAP | IFF_NO_PI | (vnetHeader ? IFF_VNET_HDR : 0)));
            Libc.ioctl(fd, TUNSETIFF, ifr, "TUNSETIFF " + name);
            Tap tap = new Tap(fd, name, vnetHeader);
            tap.configureHeader();
            return tap;
        } catch (RuntimeException e) {
            Libc.close(fd);
            throw e;
        }
    }

    /** Opens TAP {@code name} inside the network namespace at {@code netns} (e.g. {@code /run/netns/tenant-a}). */
    public static Tap openIn(Path netns, String name, boolean vnetHeader) {
        return NetnsThread.call(netns, () -> open(name, vnetHeader));
    }

    /**
     * Takes ownership of an open TAP fd (closed by {@link #close()}, also if this call fails). It
     * must be a TAP without packet information; it is switched to non-blocking.
     */
    public static Tap adopt(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ifr = arena.allocate(IFREQ_BYTES);
            Libc.ioctl(fd, TUNGETIFF, ifr, "TUNGETIFF (adopting fd " + fd + ")");
            int flags = Short.toUnsignedInt(ifr.get(ValueLayout.JAVA_SHORT, IFR_FLAGS));
            String name = ifr.getString(0, StandardCharsets.US_ASCII);
            if ((flags & IFF_TAP) == 0 || (flags & IFF_NO_PI) == 0) {
                throw new VmmException(VmmException.Kind.INVALID_INPUT, "adopt TAP",
                        "fd " + fd + " (" + name + ") must be a TAP opened with IFF_TAP|IFF_NO_PI, flags are " + Integer.toHexString(flags));
            }
            int fl = NetLibc.fcntl(fd, NetLibc.F_GETFL, 0, "fcntl F_GETFL " + name);
            NetLibc.fcntl(fd, NetLibc.F_SETFL, fl | NetLibc.O_NONBLOCK, "fcntl F_SETFL O_NONBLOCK " + name);
            Tap tap = new Tap(fd, name, (flags & IFF_VNET_HDR) != 0);
            tap.configureHeader();
            return tap;
        } catch (RuntimeException e) {
            Libc.close(fd);
            throw e;
        }
    }

    /**
     * Adopts a duplicate of {@code fd}, which stays its owner's (the netns-forwarder's port keeps
     * its fd and closes it when the sandbox detaches). The duplicate shares the open file, so the
     * owner's fd becomes non-blocking too; the kernel removes a non-persistent TAP once both are closed.
     */
    public static Tap duplicateOf(int fd) {
        return adopt(NetLibc.fcntl(fd, NetLibc.F_DUPFD_CLOEXEC, 0, "fcntl F_DUPFD_CLOEXEC (duplicating TAP fd " + fd + ")"));
    }

    /** The header is virtio_net_hdr_v1; no offloads, so the kernel hands over only complete, checksummed frames. */
    private void configureHeader() {
        if (vnetHeader) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment size = arena.allocate(ValueLayout.JAVA_INT);
                size.set(ValueLayout.JAVA_INT, 0, VNET_HEADER_BYTES);
                Libc.ioctl(fd, TUNSETVNETHDRSZ, size, "TUNSETVNETHDRSZ " + name);
            }
            Libc.ioctl(fd, TUNSETOFFLOAD, 0L, "TUNSETOFFLOAD " + name);
        }
    }

    public String name() {
        return name;
    }

    /** Bytes of virtio-net header before each frame on the fd: 12 or 0. */
    public int headerBytes() {
        return vnetHeader ? VNET_HEADER_BYTES : 0;
    }

    int fd() {
        if (closed.get()) {
            throw new VmmException(VmmException.Kind.INVALID_STATE, "TAP " + name, "TAP " + name + " is closed");
        }
        return fd;
    }

    /** Sends one Ethernet frame into the TAP (for tests and injectors; the device uses its own path). */
    public void writeFrame(byte[] frame) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(headerBytes() + frame.length + 1);
            MemorySegment.copy(frame, 0, buf, ValueLayout.JAVA_BYTE, headerBytes(), frame.length);
            MemorySegment iov = arena.allocate(NetLibc.IOVEC_BYTES, 8);
            iov.set(ValueLayout.ADDRESS, 0, buf);
            iov.set(ValueLayout.JAVA_LONG, 8, headerBytes() + frame.length);
            long n = NetLibc.writevRaw(fd(), iov, 1);
            if (n < 0) {
                throw VmmException.fromErrno("write to TAP " + name, (int) -n);
            }
        }
    }

    /** Reads one frame without its header into {@code buffer}; its length, or -1 if none is queued. */
    public int readFrame(byte[] buffer) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(headerBytes() + buffer.length);
            MemorySegment iov = arena.allocate(NetLibc.IOVEC_BYTES, 8);
            iov.set(ValueLayout.ADDRESS, 0, buf);
            iov.set(ValueLayout.JAVA_LONG, 8, buf.byteSize());
            long n = NetLibc.readvRaw(fd(), iov, 1);
            if (n == -Errno.EAGAIN) {
                return -1;
            }
            if (n < 0) {
                throw VmmException.fromErrno("read from TAP " + name, (int) -n);
            }
            int len = (int) Math.max(0, Math.min(n, buf.byteSize()) - headerBytes());
            MemorySegment.copy(buf, ValueLayout.JAVA_BYTE, headerBytes(), buffer, 0, len);
            return len;
        }
    }

    /** Closes the fd; a TAP the kernel created for this fd (not persistent) disappears with it. Idempotent. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            Libc.close(fd);
        }
    }

    @Override
    public String toString() {
        return "Tap[" + name + ", fd " + fd + (vnetHeader ? ", vnet header" : "") + "]";
    }
}
