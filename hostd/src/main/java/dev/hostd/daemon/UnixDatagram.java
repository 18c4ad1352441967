package dev.hostd.daemon;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;

/**
 * Unix datagram sockets through FFM, which the JDK does not offer: enough to send one datagram to
 * a path (sd_notify) and, for tests, to bind and receive. A path starting with {@code @} is in the
 * abstract namespace, as systemd writes it in {@code $NOTIFY_SOCKET}.
 */
public final class UnixDatagram {
    private static final int AF_UNIX = 1, SOCK_DGRAM = 2, SOCK_CLOEXEC = 0x80000, MSG_NOSIGNAL = 0x4000;
    private static final int SOL_SOCKET = 1, SO_RCVTIMEO = 20;
    private static final int SUN_PATH = 108;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout ERRNO_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = ERRNO_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE = Linker.Option.captureCallState("errno");
    private static final MethodHandle SOCKET = handle("socket", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle SENDTO = handle("sendto", FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT,
            ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    private static final MethodHandle BIND = handle("bind", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    private static final MethodHandle RECV = handle("recv", FunctionDescriptor.of(ValueLayout.JAVA_LONG,
            ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
    private static final MethodHandle SETSOCKOPT = handle("setsockopt", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    private static final MethodHandle CLOSE = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("close"),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));

    private UnixDatagram() {}

    private static MethodHandle handle(String name, FunctionDescriptor fd) {
        return LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow(name), fd, CAPTURE);
    }

    /** Sends one datagram to the socket at {@code path}. */
    public static void send(String path, byte[] message) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = arena.allocate(ERRNO_LAYOUT);
            int fd = open(errno);
            try {
                MemorySegment addr = arena.allocate(2 + SUN_PATH);
                int len = address(addr, path);
                MemorySegment buf = arena.allocateFrom(ValueLayout.JAVA_BYTE, message);
                long sent = (long) SENDTO.invokeExact(errno, fd, buf, (long) message.length, MSG_NOSIGNAL, addr, len);
                if (sent < 0) {
                    throw failure("sendto " + path, errno);
                }
            } finally {
                int ignored = (int) CLOSE.invokeExact(fd);
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException(t);
        }
    }

    /** A bound datagram socket that receives (for tests and tools); close it to unbind. */
    public static final class Receiver implements AutoCloseable {
        private final int fd;
        private final String path;

        private Receiver(int fd, String path) {
            this.fd = fd;
            this.path = path;
        }

        public static Receiver bind(String path, int timeoutMillis) throws IOException {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment errno = arena.allocate(ERRNO_LAYOUT);
                int fd = open(errno);
                MemorySegment addr = arena.allocate(2 + SUN_PATH);
                int len = address(addr, path);
                if ((int) BIND.invokeExact(errno, fd, addr, len) != 0) {
                    IOException e = failure("bind " + path, errno);
                    int ignored = (int) CLOSE.invokeExact(fd);
                    throw e;
                }
                MemorySegment tv = arena.allocate(16);
                tv.set(ValueLayout.JAVA_LONG, 0, timeoutMillis / 1000);
                tv.set(ValueLayout.JAVA_LONG, 8, (timeoutMillis % 1000) * 1000L);
                if ((int) SETSOCKOPT.invokeExact(errno, fd, SOL_SOCKET, SO_RCVTIMEO, tv, 16) != 0) {
                    IOException e = failure("setsockopt SO_RCVTIMEO", errno);
                    int ignored = (int) CLOSE.invokeExact(fd);
                    throw e;
                }
                return new Receiver(fd, path);
            } catch (IOException | RuntimeException | Error e) {
                throw e;
            } catch (Throwable t) {
                throw new IOException(t);
            }
        }

        /** The next datagram as UTF-8, or null when none came within the timeout. */
        public String receive() throws IOException {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment errno = arena.allocate(ERRNO_LAYOUT);
                MemorySegment buf = arena.allocate(65536);
                long n = (long) RECV.invokeExact(errno, fd, buf, 65536L, 0);
                if (n < 0) {
                    int e = (int) ERRNO.get(errno, 0L);
                    if (e == 11) { // EAGAIN: timed out
                        return null;
                    }
                    throw failure("recv " + path, errno);
                }
                return new String(buf.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
            } catch (IOException | RuntimeException | Error e) {
                throw e;
            } catch (Throwable t) {
                throw new IOException(t);
            }
        }

        @Override
        public void close() {
            try {
                int ignored = (int) CLOSE.invokeExact(fd);
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
            if (!path.startsWith("@")) {
                new java.io.File(path).delete();
            }
        }
    }

    private static int open(MemorySegment errno) throws Throwable {
        int fd = (int) SOCKET.invokeExact(errno, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            throw failure("socket(AF_UNIX, SOCK_DGRAM)", errno);
        }
        return fd;
    }

    /** Fills a sockaddr_un; returns its length. */
    private static int address(MemorySegment addr, String path) throws IOException {
        byte[] p = path.getBytes(StandardCharsets.UTF_8);
        boolean abstractName = p.length > 0 && p[0] == '@';
        if (p.length == 0 || p.length >= SUN_PATH) {
            throw new IOException("Unix socket path '" + path + "' must be 1.." + (SUN_PATH - 1) + " bytes");
        }
        if (abstractName) {
            p[0] = 0;
        }
        addr.fill((byte) 0);
        addr.set(ValueLayout.JAVA_SHORT, 0, (short) AF_UNIX);
        MemorySegment.copy(p, 0, addr, ValueLayout.JAVA_BYTE, 2, p.length);
        return 2 + p.length + (abstractName ? 0 : 1);
    }

    private static IOException failure(String what, MemorySegment errno) {
        int e = (int) ERRNO.get(errno, 0L);
        return new IOException(what + " failed: errno " + e);
    }
}
