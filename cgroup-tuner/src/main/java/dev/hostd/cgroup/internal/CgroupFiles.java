package dev.hostd.cgroup.internal;

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
 * The few libc calls cgroup files need, in jextract's shape, with errno captured by each call.
 * Why not java.nio: a cgroup write fails with an errno that says what was wrong (EINVAL for a
 * value out of range, EBUSY for a group with threads, ESRCH for a thread that is gone), and
 * java.nio turns it into a message string; and a write must be exactly one write(2).
 * Every method returns 0 or a negative errno; {@link dev.hostd.cgroup.CgroupException} names it.
 */
public final class CgroupFiles {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE = Linker.Option.captureCallState("errno");
    private static final ValueLayout.OfInt C_INT = ValueLayout.JAVA_INT;
    private static final ValueLayout.OfLong C_LONG = ValueLayout.JAVA_LONG;
    private static final ValueLayout C_POINTER = ValueLayout.ADDRESS;

    private static final int O_WRONLY = 1, O_CLOEXEC = 0x80000;

    private static final MethodHandle OPEN = downcall("open", FunctionDescriptor.of(C_INT, C_POINTER, C_INT, C_INT), Linker.Option.firstVariadicArg(2));
    private static final MethodHandle WRITE = downcall("write", FunctionDescriptor.of(C_LONG, C_INT, C_POINTER, C_LONG));
    private static final MethodHandle CLOSE = downcall("close", FunctionDescriptor.of(C_INT, C_INT));
    private static final MethodHandle MKDIR = downcall("mkdir", FunctionDescriptor.of(C_INT, C_POINTER, C_INT));
    private static final MethodHandle RMDIR = downcall("rmdir", FunctionDescriptor.of(C_INT, C_POINTER));

    private CgroupFiles() {}

    private static MethodHandle downcall(String symbol, FunctionDescriptor descriptor, Linker.Option... extra) {
        Linker.Option[] options = new Linker.Option[extra.length + 1];
        options[0] = CAPTURE;
        System.arraycopy(extra, 0, options, 1, extra.length);
        MemorySegment address = LINKER.defaultLookup().find(symbol).orElseThrow(() -> new UnsatisfiedLinkError("libc symbol not found: " + symbol));
        return LINKER.downcallHandle(address, descriptor, options);
    }

    /** Writes {@code value} to an existing file with one write(2). 0 or -errno. */
    public static int write(String path, String value) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment capture = arena.allocate(CAPTURE_LAYOUT);
            int fd = (int) OPEN.invokeExact(capture, arena.allocateFrom(path), O_WRONLY | O_CLOEXEC, 0);
            if (fd < 0) {
                return -errno(capture);
            }
            byte[] bytes = value.getBytes(StandardCharsets.US_ASCII);
            MemorySegment buffer = arena.allocate(bytes.length);
            buffer.copyFrom(MemorySegment.ofArray(bytes));
            long n = (long) WRITE.invokeExact(capture, fd, buffer, (long) bytes.length);
            int writeErrno = n < 0 ? errno(capture) : 0;
            int closed = (int) CLOSE.invokeExact(capture, fd);
            if (writeErrno != 0) {
                return -writeErrno;
            }
            return closed < 0 ? -errno(capture) : 0;
        } catch (Throwable t) {
            throw new IllegalStateException("write(" + path + ") downcall failed", t);
        }
    }

    /** mkdir(path, 0755): 0 or -errno. */
    public static int mkdir(String path) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment capture = arena.allocate(CAPTURE_LAYOUT);
            return (int) MKDIR.invokeExact(capture, arena.allocateFrom(path), 0755) < 0 ? -errno(capture) : 0;
        } catch (Throwable t) {
            throw new IllegalStateException("mkdir(" + path + ") downcall failed", t);
        }
    }

    /** rmdir(path): 0 or -errno. On cgroupfs this removes a group with no threads and no children. */
    public static int rmdir(String path) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment capture = arena.allocate(CAPTURE_LAYOUT);
            return (int) RMDIR.invokeExact(capture, arena.allocateFrom(path)) < 0 ? -errno(capture) : 0;
        } catch (Throwable t) {
            throw new IllegalStateException("rmdir(" + path + ") downcall failed", t);
        }
    }

    private static int errno(MemorySegment capture) {
        return (int) ERRNO.get(capture, 0L);
    }

    /** Names of the errno values cgroup files answer with. */
    public static String errnoName(int errno) {
        return switch (errno) {
            case 1 -> "EPERM";
            case 2 -> "ENOENT";
            case 3 -> "ESRCH";
            case 13 -> "EACCES";
            case 16 -> "EBUSY";
            case 17 -> "EEXIST";
            case 20 -> "ENOTDIR";
            case 22 -> "EINVAL";
            case 28 -> "ENOSPC";
            case 30 -> "EROFS";
            case 34 -> "ERANGE";
            case 39 -> "ENOTEMPTY";
            case 95 -> "EOPNOTSUPP";
            default -> "errno " + errno;
        };
    }
}
