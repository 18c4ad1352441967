package dev.hostd.daemon.internal;

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
import java.nio.file.Path;

/**
 * An exclusive {@code flock(2)} on a directory, held until {@link #close()} (or the process ends:
 * the kernel drops it with the fd, so a killed daemon leaves no stale lock). The JDK locks only
 * regular files; a cgroup directory can hold no file, so this opens the directory itself
 * ({@code O_RDONLY|O_DIRECTORY}) through FFM. flock works on any file system, cgroupfs included.
 */
public final class DirectoryLock implements AutoCloseable {
    private static final int O_RDONLY = 0, O_DIRECTORY = 0200000, O_CLOEXEC = 02000000;
    private static final int LOCK_EX = 2, LOCK_NB = 4;
    private static final int EWOULDBLOCK = 11, EINTR = 4;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout ERRNO_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = ERRNO_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE = Linker.Option.captureCallState("errno");
    private static final MethodHandle OPEN = handle("open", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.ADDRESS, ValueLayout.JAVA_INT)); // the mode argument is read only with O_CREAT
    private static final MethodHandle FLOCK = handle("flock", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle CLOSE = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("close"),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));

    private final Path directory;
    private int fd;

    private DirectoryLock(Path directory, int fd) {
        this.directory = directory;
        this.fd = fd;
    }

    private static MethodHandle handle(String name, FunctionDescriptor fd) {
        return LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow(name), fd, CAPTURE);
    }

    /**
     * Locks {@code directory} without waiting; null if another open file description (another
     * process, or another lock in this one) holds it.
     *
     * @throws IOException if the directory cannot be opened, with the errno
     */
    public static DirectoryLock tryLock(Path directory) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = arena.allocate(ERRNO_LAYOUT);
            int fd = (int) OPEN.invokeExact(errno, arena.allocateFrom(directory.toString()), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (fd < 0) {
                throw new IOException("open " + directory + ": errno " + (int) ERRNO.get(errno, 0L));
            }
            int rc;
            do {
                rc = (int) FLOCK.invokeExact(errno, fd, LOCK_EX | LOCK_NB);
            } while (rc < 0 && (int) ERRNO.get(errno, 0L) == EINTR);
            if (rc == 0) {
                return new DirectoryLock(directory, fd);
            }
            int e = (int) ERRNO.get(errno, 0L);
            int ignored = (int) CLOSE.invokeExact(fd);
            if (e == EWOULDBLOCK) {
                return null;
            }
            throw new IOException("flock " + directory + ": errno " + e);
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException(t);
        }
    }

    public Path directory() {
        return directory;
    }

    /** The fd's path in /proc, to check the lock is on the directory now at {@link #directory()} (not one removed meanwhile). */
    public Path procFd() {
        return Path.of("/proc/self/fd/" + fd);
    }

    /** Unlocks and closes; idempotent. */
    @Override
    public synchronized void close() {
        if (fd < 0) {
            return;
        }
        try {
            int ignored = (int) CLOSE.invokeExact(fd); // closing the last fd of the description drops the flock
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        } finally {
            fd = -1;
        }
    }
}
