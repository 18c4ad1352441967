package dev.hostd.vmm.kvm;

import dev.hostd.vmm.VmmException;
import dev.hostd.vmm.internal.linux.Libc;
import java.util.concurrent.atomic.AtomicBoolean;

/** An owned Linux file descriptor, closed exactly once. */
abstract class FileDescriptor implements AutoCloseable {
    private final int fd;
    private final AtomicBoolean closed = new AtomicBoolean();

    FileDescriptor(int fd) {
        this.fd = fd;
    }

    /** The raw descriptor; valid until {@link #close()}. */
    public int fd() {
        if (closed.get()) {
            throw new VmmException(VmmException.Kind.INVALID_STATE, getClass().getSimpleName(), getClass().getSimpleName() + " is closed");
        }
        return fd;
    }

    public boolean isClosed() {
        return closed.get();
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            Libc.close(fd);
        }
    }
}
