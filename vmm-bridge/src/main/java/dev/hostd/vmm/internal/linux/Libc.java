package dev.hostd.vmm.internal.linux;

import static dev.hostd.vmm.internal.linux.Native.C_INT;
import static dev.hostd.vmm.internal.linux.Native.C_LONG;
import static dev.hostd.vmm.internal.linux.Native.C_POINTER;

import dev.hostd.vmm.VmmException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * The libc calls vmm-bridge makes, in jextract's shape: a raw handle per function, and a wrapper
 * that turns a failure into {@link VmmException} with the errno captured by the call itself.
 * Everything here is internal to vmm-bridge.
 */
public final class Libc {
    public static final int O_RDONLY = 0, O_RDWR = 2, O_CREAT = 0x40, O_EXCL = 0x80, O_CLOEXEC = 0x80000;
    public static final int PROT_READ = 1, PROT_WRITE = 2;
    public static final int MAP_SHARED = 1, MAP_PRIVATE = 2, MAP_ANONYMOUS = 0x20, MAP_NORESERVE = 0x4000;
    public static final int MFD_CLOEXEC = 1;
    public static final int EFD_CLOEXEC = 0x80000, EFD_NONBLOCK = 0x800;
    public static final int MADV_DONTNEED = 4, MADV_MERGEABLE = 12, MADV_NOHUGEPAGE = 15, MADV_POPULATE_WRITE = 23;
    public static final int SIG_BLOCK = 0, SIG_UNBLOCK = 1;
    /** glibc's sigset_t is 1024 bits. */
    public static final long SIGSET_BYTES = 128;
    public static final int PRIO_PROCESS = 0;

    private static final MethodHandle OPEN = Native.downcallWithErrno("open",
            FunctionDescriptor.of(C_INT, C_POINTER, C_INT, C_INT), Linker.Option.firstVariadicArg(2));
    private static final MethodHandle CLOSE = Native.downcallWithErrno("close", FunctionDescriptor.of(C_INT, C_INT));
    private static final MethodHandle IOCTL_PTR = Native.downcallWithErrno("ioctl",
            FunctionDescriptor.of(C_INT, C_INT, C_LONG, C_POINTER), Linker.Option.firstVariadicArg(2));
    private static final MethodHandle IOCTL_LONG = Native.downcallWithErrno("ioctl",
            FunctionDescriptor.of(C_INT, C_INT, C_LONG, C_LONG), Linker.Option.firstVariadicArg(2));
    private static final MethodHandle MMAP = Native.downcallWithErrno("mmap",
            FunctionDescriptor.of(C_POINTER, C_POINTER, C_LONG, C_INT, C_INT, C_INT, C_LONG));
    private static final MethodHandle MUNMAP = Native.downcallWithErrno("munmap", FunctionDescriptor.of(C_INT, C_POINTER, C_LONG));
    private static final MethodHandle MADVISE = Native.downcallWithErrno("madvise", FunctionDescriptor.of(C_INT, C_POINTER, C_LONG, C_INT));
    private static final MethodHandle MEMFD_CREATE = Native.downcallWithErrno("memfd_create", FunctionDescriptor.of(C_INT, C_POINTER, C_INT));
    private static final MethodHandle FTRUNCATE = Native.downcallWithErrno("ftruncate", FunctionDescriptor.of(C_INT, C_INT, C_LONG));
    private static final MethodHandle EVENTFD = Native.downcallWithErrno("eventfd", FunctionDescriptor.of(C_INT, C_INT, C_INT));
    private static final MethodHandle EVENTFD_READ = Native.downcallWithErrno("eventfd_read", FunctionDescriptor.of(C_INT, C_INT, C_POINTER));
    private static final MethodHandle EVENTFD_WRITE = Native.downcallWithErrno("eventfd_write", FunctionDescriptor.of(C_INT, C_INT, C_LONG));
    private static final MethodHandle PTHREAD_SELF = Native.downcall("pthread_self", FunctionDescriptor.of(C_LONG));
    private static final MethodHandle PTHREAD_KILL = Native.downcall("pthread_kill", FunctionDescriptor.of(C_INT, C_LONG, C_INT));
    private static final MethodHandle PTHREAD_SIGMASK = Native.downcall("pthread_sigmask", FunctionDescriptor.of(C_INT, C_INT, C_POINTER, C_POINTER));
    private static final MethodHandle SIGTIMEDWAIT = Native.downcallWithErrno("sigtimedwait", FunctionDescriptor.of(C_INT, C_POINTER, C_POINTER, C_POINTER));
    private static final MethodHandle SIGNAL = Native.downcallWithErrno("signal", FunctionDescriptor.of(C_POINTER, C_INT, C_POINTER));
    private static final MethodHandle GETTID = Native.downcall("gettid", FunctionDescriptor.of(C_INT));
    private static final MethodHandle SETPRIORITY = Native.downcallWithErrno("setpriority", FunctionDescriptor.of(C_INT, C_INT, C_INT, C_INT));
    private static final MethodHandle SIGRTMIN = Native.downcall("__libc_current_sigrtmin", FunctionDescriptor.of(C_INT));

    private Libc() {}

    public static int open(String path, int flags, int mode) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment capture = Native.captureBuffer();
            int fd = (int) OPEN.invokeExact(capture, arena.allocateFrom(path), flags, mode);
            if (fd < 0) {
                throw VmmException.fromErrno("open " + path, Native.errno(capture));
            }
            return fd;
        } catch (VmmException e) {
            throw e;
        } catch (Throwable t) {
            throw unexpected("open", t);
        }
    }

    public static void close(int fd) {
        try {
            MemorySegment capture = Native.captureBuffer();
            if ((int) CLOSE.invokeExact(capture, fd) < 0) {
                throw VmmException.fromErrno("close", Native.errno(capture));
            }
        } catch (VmmException e) {
            throw e;
        } catch (Throwable t) {
            throw unexpected("close", t);
        }
    }

    /** ioctl with a pointer argument; returns the non-negative result, throws on failure. */
    public static int ioctl(int fd, long request, MemorySegment arg, String operation) {
        int result = ioctlRaw(fd, request, arg);
        if (result < 0) {
            throw VmmException.fromErrno(operation, -result);
        }
        return result;
    }

    /** ioctl with an integer argument; returns the non-negative result, throws on failure. */
    public static int ioctl(int fd, long request, long arg, String operation) {
        int result = ioctlRaw(fd, request, arg);
        if (result < 0) {
            throw VmmException.fromErrno(operation, -result);
        }
        return result;
    }

    /** ioctl returning {@code -errno} on failure instead of throwing: for KVM_RUN's EINTR path. */
    public static int ioctlRaw(int fd, long request, long arg) {
        try {
            MemorySegment capture = Native.captureBuffer();
            int result = (int) IOCTL_LONG.invokeExact(capture, fd, request, arg);
            return result < 0 ? -Native.errno(capture) : result;
        } catch (Throwable t) {
            throw unexpected("ioctl", t);
        }
    }

    public static int ioctlRaw(int fd, long request, MemorySegment arg) {
        try {
            MemorySegment capture = Native.captureBuffer();
            int result = (int) IOCTL_PTR.invokeExact(capture, fd, request, arg);
            return result < 0 ? -Native.errno(capture) : result;
        } catch (Throwable t) {
            throw unexpected("ioctl", t);
        }
    }

    /** mmap; returns the mapping as a segment of {@code length} bytes. */
    public static MemorySegment mmap(long length, int prot, int flags, int fd, long offset, String what) {
        try {
            MemorySegment capture = Native.captureBuffer();
            MemorySegment address = (MemorySegment) MMAP.invokeExact(capture, MemorySegment.NULL, length, prot, flags, fd, offset);
            if (address.address() == -1L) {
                throw VmmException.fromErrno("mmap " + what, Native.errno(capture));
            }
            return address.reinterpret(length);
        } catch (VmmException e) {
            throw e;
        } catch (Throwable t) {
            throw unexpected("mmap", t);
        }
    }

    public static void munmap(MemorySegment mapping) {
        try {
            MemorySegment capture = Native.captureBuffer();
            if ((int) MUNMAP.invokeExact(capture, mapping, mapping.byteSize()) < 0) {
                throw VmmException.fromErrno("munmap", Native.errno(capture));
            }
        } catch (VmmException e) {
            throw e;
        } catch (Throwable t) {
            throw unexpected("munmap", t);
        }
    }

    public static void madvise(MemorySegment range, int advice, String what) {
        try {
            MemorySegment capture = Native.captureBuffer();
            if ((int) MADVISE.invokeExact(capture, range, range.byteSize(), advice) < 0) {
                throw VmmException.fromErrno("madvise " + what, Native.errno(capture));
            }
        } catch (VmmException e) {
            throw e;
        } catch (Throwable t) {
            throw unexpected("madvise", t);
        }
    }

    public static int memfdCreate(String name, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment capture = Native.captureBuffer();
            int fd = (int) MEMFD_CREATE.invokeExact(capture, arena.allocateFrom(name), flags);
            if (fd < 0) {
                throw VmmException.fromErrno("memfd_create " + name, Native.errno(capture));
            }
            return fd;
        } catch (VmmException e) {
            throw e;
        } catch (Throwable t) {
            throw unexpected("memfd_create", t);
        }
    }

    public static void ftruncate(int fd, long length) {
        try {
            MemorySegment capture = Native.captureBuffer();
            if ((int) FTRUNCATE.invokeExact(capture, fd, length) < 0) {
                throw VmmException.fromErrno("ftruncate", Native.errno(capture));
            }
        } catch (VmmException e) {
            throw e;
        } catch (Throwable t) {
            throw unexpected("ftruncate", t);
        }
    }

    public static int eventfd(int initial, int flags) {
        try {
            MemorySegment capture = Native.captureBuffer();
            int fd = (int) EVENTFD.invokeExact(capture, initial, flags);
            if (fd < 0) {
                throw VmmException.fromErrno("eventfd", Native.errno(capture));
            }
            return fd;
        } catch (VmmException e) {
            throw e;
        } catch (Throwable t) {
            throw unexpected("eventfd", t);
        }
    }

    /** Adds {@code value} to an eventfd's counter; {@code false} if it would overflow a non-blocking one (EAGAIN). */
    public static boolean eventfdWrite(int fd, long value) {
        try {
            MemorySegment capture = Native.captureBuffer();
            if ((int) EVENTFD_WRITE.invokeExact(capture, fd, value) == 0) {
                return true;
            }
            int errno = Native.errno(capture);
            if (errno == Errno.EAGAIN) {
                return false;
            }
            throw VmmException.fromErrno("eventfd_write", errno);
        } catch (VmmException e) {
            throw e;
        } catch (Throwable t) {
            throw unexpected("eventfd_write", t);
        }
    }

    /** Takes an eventfd's counter (resetting it to 0); 0 if a non-blocking one had nothing (EAGAIN). */
    public static long eventfdRead(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment value = arena.allocate(ValueLayout.JAVA_LONG);
            MemorySegment capture = Native.captureBuffer();
            if ((int) EVENTFD_READ.invokeExact(capture, fd, value) == 0) {
                return value.get(ValueLayout.JAVA_LONG, 0);
            }
            int errno = Native.errno(capture);
            if (errno == Errno.EAGAIN) {
                return 0;
            }
            throw VmmException.fromErrno("eventfd_read", errno);
        } catch (VmmException e) {
            throw e;
        } catch (Throwable t) {
            throw unexpected("eventfd_read", t);
        }
    }

    public static long pthreadSelf() {
        try {
            return (long) PTHREAD_SELF.invokeExact();
        } catch (Throwable t) {
            throw unexpected("pthread_self", t);
        }
    }

    /** Sends {@code signal} to one thread. pthread functions return the error number directly. */
    public static void pthreadKill(long thread, int signal) {
        try {
            int error = (int) PTHREAD_KILL.invokeExact(thread, signal);
            if (error != 0) {
                throw VmmException.fromErrno("pthread_kill", error);
            }
        } catch (VmmException e) {
            throw e;
        } catch (Throwable t) {
            throw unexpected("pthread_kill", t);
        }
    }

    /** Blocks one signal in the calling thread's mask; returns the thread's mask from before. */
    public static MemorySegment blockSignal(int signal, Arena arena) {
        try {
            MemorySegment set = sigset(arena, signal, SIGSET_BYTES);
            MemorySegment previous = arena.allocate(SIGSET_BYTES, 8);
            int error = (int) PTHREAD_SIGMASK.invokeExact(SIG_BLOCK, set, previous);
            if (error != 0) {
                throw VmmException.fromErrno("pthread_sigmask", error);
            }
            return previous;
        } catch (VmmException e) {
            throw e;
        } catch (Throwable t) {
            throw unexpected("pthread_sigmask", t);
        }
    }

    /**
     * Consumes a pending (blocked) {@code signal} of the calling thread without waiting.
     * Returns true if one was pending.
     */
    public static boolean consumePendingSignal(MemorySegment sigset, MemorySegment zeroTimespec) {
        try {
            MemorySegment capture = Native.captureBuffer();
            int result = (int) SIGTIMEDWAIT.invokeExact(capture, sigset, MemorySegment.NULL, zeroTimespec);
            if (result < 0) {
                int errno = Native.errno(capture);
                if (errno == Errno.EAGAIN || errno == Errno.EINTR) {
                    return false;
                }
                throw VmmException.fromErrno("sigtimedwait", errno);
            }
            return true;
        } catch (VmmException e) {
            throw e;
        } catch (Throwable t) {
            throw unexpected("sigtimedwait", t);
        }
    }

    /** Sets a signal's disposition to "ignore" (SIG_IGN is the handler value 1). */
    public static void ignoreSignal(int signal) {
        try {
            MemorySegment capture = Native.captureBuffer();
            MemorySegment previous = (MemorySegment) SIGNAL.invokeExact(capture, signal, MemorySegment.ofAddress(1L));
            if (previous.address() == -1L) {
                throw VmmException.fromErrno("signal", Native.errno(capture));
            }
        } catch (VmmException e) {
            throw e;
        } catch (Throwable t) {
            throw unexpected("signal", t);
        }
    }

    /** The calling thread's Linux thread id. */
    public static int gettid() {
        try {
            return (int) GETTID.invokeExact();
        } catch (Throwable t) {
            throw unexpected("gettid", t);
        }
    }

    /** Sets one thread's nice value: on Linux, PRIO_PROCESS with a thread id applies to that thread only. */
    public static void setThreadNice(int tid, int nice) {
        try {
            MemorySegment capture = Native.captureBuffer();
            if ((int) SETPRIORITY.invokeExact(capture, PRIO_PROCESS, tid, nice) < 0) {
                throw VmmException.fromErrno("setpriority(tid " + tid + ", " + nice + ")", Native.errno(capture));
            }
        } catch (VmmException e) {
            throw e;
        } catch (Throwable t) {
            throw unexpected("setpriority", t);
        }
    }

    public static int sigrtmin() {
        try {
            return (int) SIGRTMIN.invokeExact();
        } catch (Throwable t) {
            throw unexpected("__libc_current_sigrtmin", t);
        }
    }

    /** A signal set of {@code bytes} bytes holding just {@code signal} (bit signal-1). */
    public static MemorySegment sigset(Arena arena, int signal, long bytes) {
        MemorySegment set = arena.allocate(bytes, 8);
        int bit = signal - 1;
        set.set(Native.C_LONG, (bit / 64) * 8L, 1L << (bit % 64));
        return set;
    }

    private static VmmException unexpected(String call, Throwable t) {
        return new VmmException(VmmException.Kind.INTERNAL, call, "native call " + call + " failed unexpectedly: " + t, t);
    }
}
