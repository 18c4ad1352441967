package dev.hostd.vmm.internal.linux;

import static dev.hostd.vmm.internal.linux.Native.C_INT;
import static dev.hostd.vmm.internal.linux.Native.C_LONG;
import static dev.hostd.vmm.internal.linux.Native.C_POINTER;

import dev.hostd.vmm.VmmException;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * The libc calls of the virtio-net back-end: TAP I/O (readv/writev straight between the TAP and
 * guest buffers), epoll for the shared event loop, fcntl and setns. The {@code *Raw} calls return
 * {@code -errno} instead of throwing: on the packet path EAGAIN is an answer, not an error.
 */
public final class NetLibc {
    public static final int O_NONBLOCK = 0x800;
    public static final int F_GETFL = 3, F_SETFL = 4, F_DUPFD_CLOEXEC = 1030;
    public static final int EPOLL_CLOEXEC = 0x80000;
    public static final int EPOLL_CTL_ADD = 1, EPOLL_CTL_DEL = 2;
    public static final int EPOLLIN = 0x1, EPOLLERR = 0x8, EPOLLHUP = 0x10, EPOLLET = 0x80000000;
    /** struct epoll_event is packed on x86-64: u32 events, u64 data. */
    public static final long EPOLL_EVENT_BYTES = 12;
    /** struct iovec: void *base, size_t len. */
    public static final long IOVEC_BYTES = 16;
    public static final int CLONE_NEWNET = 0x40000000;

    private static final MethodHandle READV = Native.downcallWithErrno("readv", FunctionDescriptor.of(C_LONG, C_INT, C_POINTER, C_INT));
    private static final MethodHandle WRITEV = Native.downcallWithErrno("writev", FunctionDescriptor.of(C_LONG, C_INT, C_POINTER, C_INT));
    private static final MethodHandle EPOLL_CREATE1 = Native.downcallWithErrno("epoll_create1", FunctionDescriptor.of(C_INT, C_INT));
    private static final MethodHandle EPOLL_CTL = Native.downcallWithErrno("epoll_ctl", FunctionDescriptor.of(C_INT, C_INT, C_INT, C_INT, C_POINTER));
    private static final MethodHandle EPOLL_WAIT = Native.downcallWithErrno("epoll_wait", FunctionDescriptor.of(C_INT, C_INT, C_POINTER, C_INT, C_INT));
    private static final MethodHandle FCNTL = Native.downcallWithErrno("fcntl", FunctionDescriptor.of(C_INT, C_INT, C_INT, C_LONG),
            Linker.Option.firstVariadicArg(2));
    private static final MethodHandle SETNS = Native.downcallWithErrno("setns", FunctionDescriptor.of(C_INT, C_INT, C_INT));

    private NetLibc() {}

    /** readv; the byte count, or {@code -errno}. */
    public static long readvRaw(int fd, MemorySegment iov, int count) {
        try {
            MemorySegment capture = Native.captureBuffer();
            long n = (long) READV.invokeExact(capture, fd, iov, count);
            return n < 0 ? -Native.errno(capture) : n;
        } catch (Throwable t) {
            throw unexpected("readv", t);
        }
    }

    /** writev; the byte count, or {@code -errno}. */
    public static long writevRaw(int fd, MemorySegment iov, int count) {
        try {
            MemorySegment capture = Native.captureBuffer();
            long n = (long) WRITEV.invokeExact(capture, fd, iov, count);
            return n < 0 ? -Native.errno(capture) : n;
        } catch (Throwable t) {
            throw unexpected("writev", t);
        }
    }

    public static int epollCreate() {
        try {
            MemorySegment capture = Native.captureBuffer();
            int fd = (int) EPOLL_CREATE1.invokeExact(capture, EPOLL_CLOEXEC);
            if (fd < 0) {
                throw VmmException.fromErrno("epoll_create1", Native.errno(capture));
            }
            return fd;
        } catch (VmmException e) {
            throw e;
        } catch (Throwable t) {
            throw unexpected("epoll_create1", t);
        }
    }

    /** epoll_ctl; 0 or {@code -errno}. {@code event} may be NULL for EPOLL_CTL_DEL. */
    public static int epollCtlRaw(int epfd, int op, int fd, MemorySegment event) {
        try {
            MemorySegment capture = Native.captureBuffer();
            int r = (int) EPOLL_CTL.invokeExact(capture, epfd, op, fd, event);
            return r < 0 ? -Native.errno(capture) : r;
        } catch (Throwable t) {
            throw unexpected("epoll_ctl", t);
        }
    }

    /** epoll_wait; the number of events, or {@code -errno} (EINTR included). */
    public static int epollWaitRaw(int epfd, MemorySegment events, int max, int timeoutMillis) {
        try {
            MemorySegment capture = Native.captureBuffer();
            int n = (int) EPOLL_WAIT.invokeExact(capture, epfd, events, max, timeoutMillis);
            return n < 0 ? -Native.errno(capture) : n;
        } catch (Throwable t) {
            throw unexpected("epoll_wait", t);
        }
    }

    /** fcntl with an integer argument; throws on failure. */
    public static int fcntl(int fd, int cmd, long arg, String operation) {
        try {
            MemorySegment capture = Native.captureBuffer();
            int r = (int) FCNTL.invokeExact(capture, fd, cmd, arg);
            if (r < 0) {
                throw VmmException.fromErrno(operation, Native.errno(capture));
            }
            return r;
        } catch (VmmException e) {
            throw e;
        } catch (Throwable t) {
            throw unexpected("fcntl", t);
        }
    }

    /** setns for the calling thread; throws on failure. */
    public static void setns(int fd, int nstype, String operation) {
        try {
            MemorySegment capture = Native.captureBuffer();
            if ((int) SETNS.invokeExact(capture, fd, nstype) < 0) {
                throw VmmException.fromErrno(operation, Native.errno(capture));
            }
        } catch (VmmException e) {
            throw e;
        } catch (Throwable t) {
            throw unexpected("setns", t);
        }
    }

    private static VmmException unexpected(String call, Throwable t) {
        return new VmmException(VmmException.Kind.INTERNAL, call, "native call " + call + " failed unexpectedly: " + t, t);
    }
}
