package dev.hostd.vmm.kvm;

import dev.hostd.vmm.internal.linux.Libc;

/**
 * An eventfd: the 8-byte counter KVM signals for an ioeventfd (a guest's queue notification handled
 * in the kernel, without an exit) and reads for an irqfd (a device's interrupt injected without a
 * vCPU ioctl). Non-blocking unless made with {@link #createBlocking()}.
 */
public final class EventFd extends FileDescriptor {
    private final boolean blocking;

    private EventFd(int fd, boolean blocking) {
        super(fd);
        this.blocking = blocking;
    }

    public static EventFd create() {
        return new EventFd(Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK), false);
    }

    /** One a thread can sleep on with {@link #await()} until someone (KVM, or {@link #signal()}) adds to it. */
    public static EventFd createBlocking() {
        return new EventFd(Libc.eventfd(0, Libc.EFD_CLOEXEC), true);
    }

    /**
     * Blocks in read(2) until the counter is not 0, then takes it (resetting it to 0). A platform
     * thread's call: the native read would pin a virtual thread's carrier.
     */
    public long await() {
        if (!blocking) {
            throw new IllegalStateException("await() needs an eventfd from createBlocking()");
        }
        return Libc.eventfdRead(fd());
    }

    /** Adds one to the counter, waking whoever waits on it (for an irqfd: KVM injects the interrupt). */
    public void signal() {
        Libc.eventfdWrite(fd(), 1); // false only when the counter is at 2^64-2: signalled already, nothing lost
    }

    /** The counter since the last take, then 0; 0 if nothing was signalled. Never blocks. */
    public long take() {
        if (blocking) {
            throw new IllegalStateException("take() would block on an eventfd from createBlocking(): use await()");
        }
        return Libc.eventfdRead(fd());
    }
}
