package dev.hostd.net.internal;

import dev.hostd.net.NetException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;

/**
 * A NETLINK_ROUTE socket. It belongs to the network namespace of the thread that opened it, and
 * every request it sends acts on that namespace, whichever thread sends it later. Not thread-safe:
 * its owner (one tenant's namespace thread) serialises requests.
 */
public final class RtnetlinkSocket implements AutoCloseable {
    private static final int NETLINK_ROUTE = 0;
    private final int fd;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment buffer = arena.allocate(8192);
    private int seq = 1;
    private boolean closed;

    private RtnetlinkSocket(int fd) {
        this.fd = fd;
    }

    /** Opens a socket in the calling thread's network namespace. */
    public static RtnetlinkSocket open() {
        int fd = Libc.socket(Libc.AF_NETLINK, Libc.SOCK_RAW, NETLINK_ROUTE, "socket(AF_NETLINK, NETLINK_ROUTE)");
        try {
            MemorySegment sa = Arena.ofAuto().allocate(12); // sockaddr_nl: family, pad, pid 0 (kernel picks), groups 0
            sa.set(ValueLayout.JAVA_SHORT, 0, (short) Libc.AF_NETLINK);
            Libc.bind(fd, sa, "bind netlink socket");
            return new RtnetlinkSocket(fd);
        } catch (RuntimeException e) {
            Libc.close(fd);
            throw e;
        }
    }

    /** Bridge master, MTU and up/down of link {@code name}, in one request. */
    public void setLink(String name, int masterIndex, int mtu, boolean up) {
        int s = seq++;
        request(RtnetlinkMessage.setLink(s, name, masterIndex, mtu, up), s, "RTM_NEWLINK " + name);
    }

    public void deleteLink(String name) {
        int s = seq++;
        request(RtnetlinkMessage.deleteLink(s, name), s, "RTM_DELLINK " + name);
    }

    private void request(byte[] message, int s, String operation) {
        MemorySegment.copy(message, 0, buffer, ValueLayout.JAVA_BYTE, 0, message.length);
        Libc.write(fd, buffer.asSlice(0, message.length), operation);
        while (true) {
            int n = Libc.read(fd, buffer, operation + " (reading the ack)");
            ByteBuffer reply = buffer.asSlice(0, n).asByteBuffer();
            int error = RtnetlinkMessage.ackError(reply, s);
            if (error == 0) {
                return;
            }
            if (error > 0) {
                throw NetException.fromErrno(operation, error);
            }
            // an answer to an earlier request (none is outstanding by construction); read on
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            Libc.close(fd);
            arena.close();
        }
    }
}
