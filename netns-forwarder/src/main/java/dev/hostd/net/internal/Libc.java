package dev.hostd.net.internal;

import static dev.hostd.net.internal.Native.C_INT;
import static dev.hostd.net.internal.Native.C_LONG;
import static dev.hostd.net.internal.Native.C_POINTER;

import dev.hostd.net.NetException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * The libc calls netns-forwarder makes, in jextract's shape: a raw handle per function and a
 * wrapper that turns a failure into {@link NetException} with the errno captured by the call.
 * Internal to this module (vmm-bridge has its own; modules do not share internals).
 */
public final class Libc {
    public static final int O_RDWR = 2, O_NONBLOCK = 0x800, O_CLOEXEC = 0x80000;
    public static final int AF_NETLINK = 16, AF_PACKET = 17, SOCK_RAW = 3, SOCK_CLOEXEC = 0x80000;
    public static final int CLONE_NEWNET = 0x40000000;
    public static final short POLLIN = 1;

    private static final MethodHandle OPEN = Native.downcallWithErrno("open", FunctionDescriptor.of(C_INT, C_POINTER, C_INT, C_INT), Linker.Option.firstVariadicArg(2));
    private static final MethodHandle CLOSE = Native.downcallWithErrno("close", FunctionDescriptor.of(C_INT, C_INT));
    private static final MethodHandle IOCTL = Native.downcallWithErrno("ioctl", FunctionDescriptor.of(C_INT, C_INT, C_LONG, C_POINTER), Linker.Option.firstVariadicArg(2));
    private static final MethodHandle SOCKET = Native.downcallWithErrno("socket", FunctionDescriptor.of(C_INT, C_INT, C_INT, C_INT));
    private static final MethodHandle BIND = Native.downcallWithErrno("bind", FunctionDescriptor.of(C_INT, C_INT, C_POINTER, C_INT));
    private static final MethodHandle READ = Native.downcallWithErrno("read", FunctionDescriptor.of(C_LONG, C_INT, C_POINTER, C_LONG));
    private static final MethodHandle WRITE = Native.downcallWithErrno("write", FunctionDescriptor.of(C_LONG, C_INT, C_POINTER, C_LONG));
    private static final MethodHandle POLL = Native.downcallWithErrno("poll", FunctionDescriptor.of(C_INT, C_POINTER, C_LONG, C_INT));
    private static final MethodHandle SETNS = Native.downcallWithErrno("setns", FunctionDescriptor.of(C_INT, C_INT, C_INT));
    private static final MethodHandle FCNTL = Native.downcallWithErrno("fcntl", FunctionDescriptor.of(C_INT, C_INT, C_INT, C_INT), Linker.Option.firstVariadicArg(2));
    private static final int F_DUPFD_CLOEXEC = 1030;
    private static final MethodHandle IF_NAMETOINDEX = Native.downcallWithErrno("if_nametoindex", FunctionDescriptor.of(C_INT, C_POINTER));

    private Libc() {}

    public static int open(String path, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment capture = Native.captureBuffer();
            return check((int) OPEN.invokeExact(capture, arena.allocateFrom(path), flags | O_CLOEXEC, 0), capture, "open " + path);
        } catch (NetException e) {
            throw e;
        } catch (Throwable t) {
            throw unexpected("open", t);
        }
    }

    public static void close(int fd) {
        try {
            MemorySegment capture = Native.captureBuffer();
            check((int) CLOSE.invokeExact(capture, fd), capture, "close");
        } catch (NetException e) {
            throw e;
        } catch (Throwable t) {
            throw unexpected("close", t);
        }
    }

    public static int ioctl(int fd, long request, MemorySegment arg, String operation) {
        try {
            MemorySegment capture = Native.captureBuffer();
            return check((int) IOCTL.invokeExact(capture, fd, request, arg), capture, operation);
        } catch (NetException e) {
            throw e;
        } catch (Throwable t) {
            throw unexpected(operation, t);
        }
    }

    public static int socket(int domain, int type, int protocol, String operation) {
        try {
            MemorySegment capture = Native.captureBuffer();
            return check((int) SOCKET.invokeExact(capture, domain, type | SOCK_CLOEXEC, protocol), capture, operation);
        } catch (NetException e) {
            throw e;
        } catch (Throwable t) {
            throw unexpected(operation, t);
        }
    }

    public static void bind(int fd, MemorySegment address, String operation) {
        try {
            MemorySegment capture = Native.captureBuffer();
            check((int) BIND.invokeExact(capture, fd, address, (int) address.byteSize()), capture, operation);
        } catch (NetException e) {
            throw e;
        } catch (Throwable t) {
            throw unexpected(operation, t);
        }
    }

    /** read(2); returns the byte count, or throws. */
    public static int read(int fd, MemorySegment buffer, String operation) {
        try {
            MemorySegment capture = Native.captureBuffer();
            long n = (long) READ.invokeExact(capture, fd, buffer, buffer.byteSize());
            return check((int) n, capture, operation);
        } catch (NetException e) {
            throw e;
        } catch (Throwable t) {
            throw unexpected(operation, t);
        }
    }

    /** write(2) of the whole segment; returns the byte count, or throws. */
    public static int write(int fd, MemorySegment buffer, String operation) {
        try {
            MemorySegment capture = Native.captureBuffer();
            long n = (long) WRITE.invokeExact(capture, fd, buffer, buffer.byteSize());
            return check((int) n, capture, operation);
        } catch (NetException e) {
            throw e;
        } catch (Throwable t) {
            throw unexpected(operation, t);
        }
    }

    /** write(2) returning -errno instead of throwing: for generators that count ENOBUFS/EAGAIN. */
    public static long writeRaw(int fd, MemorySegment buffer) {
        try {
            MemorySegment capture = Native.captureBuffer();
            long n = (long) WRITE.invokeExact(capture, fd, buffer, buffer.byteSize());
            return n < 0 ? -Native.errno(capture) : n;
        } catch (Throwable t) {
            throw unexpected("write", t);
        }
    }

    /** A new fd (close-on-exec) for the same open file. */
    public static int dup(int fd, String operation) {
        try {
            MemorySegment capture = Native.captureBuffer();
            return check((int) FCNTL.invokeExact(capture, fd, F_DUPFD_CLOEXEC, 0), capture, operation);
        } catch (NetException e) {
            throw e;
        } catch (Throwable t) {
            throw unexpected(operation, t);
        }
    }

    /** Waits up to {@code timeoutMillis} for {@code fd} to become readable. */
    public static boolean pollIn(int fd, int timeoutMillis) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pfd = arena.allocate(8);
            pfd.set(C_INT, 0, fd);
            pfd.set(Native.C_SHORT, 4, POLLIN);
            MemorySegment capture = Native.captureBuffer();
            int n;
            do {
                n = (int) POLL.invokeExact(capture, pfd, 1L, timeoutMillis);
            } while (n < 0 && Native.errno(capture) == Errno.EINTR);
            return check(n, capture, "poll") > 0;
        } catch (NetException e) {
            throw e;
        } catch (Throwable t) {
            throw unexpected("poll", t);
        }
    }

    /** Moves the calling OS thread into the network namespace {@code nsFd} refers to. */
    public static void setns(int nsFd, String what) {
        try {
            MemorySegment capture = Native.captureBuffer();
            check((int) SETNS.invokeExact(capture, nsFd, CLONE_NEWNET), capture, "setns " + what);
        } catch (NetException e) {
            throw e;
        } catch (Throwable t) {
            throw unexpected("setns", t);
        }
    }

    /** The index of interface {@code name} in the calling thread's namespace. */
    public static int ifNameToIndex(String name) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment capture = Native.captureBuffer();
            int index = (int) IF_NAMETOINDEX.invokeExact(capture, arena.allocateFrom(name));
            if (index == 0) {
                throw NetException.fromErrno("if_nametoindex " + name, Native.errno(capture));
            }
            return index;
        } catch (NetException e) {
            throw e;
        } catch (Throwable t) {
            throw unexpected("if_nametoindex", t);
        }
    }

    private static int check(int result, MemorySegment capture, String operation) {
        if (result < 0) {
            throw NetException.fromErrno(operation, Native.errno(capture));
        }
        return result;
    }

    private static NetException unexpected(String call, Throwable t) {
        return new NetException(call, "native call " + call + " failed unexpectedly: " + t, t);
    }
}
