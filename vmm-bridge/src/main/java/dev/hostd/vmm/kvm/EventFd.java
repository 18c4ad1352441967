package dev.hostd.vmm.kvm;

import dev.hostd.vmm.internal.linux.Libc;

/**
 * A non-blocking eventfd: the 8-byte counter KVM signals for an ioeventfd (a guest's queue
 * notification handled in the kernel, without an exit) and reads for an irqfd (a device's
 * interrupt injected without a vCPU ioctl).
 */
public final class EventFd extends FileDescriptor {
    private EventFd(int fd) {
        super(fd);
    }

    public static EventFd create() {
        return new EventFd(Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK));
    }

    /** Adds one to the counter, waking whoever waits on it (for an irqfd: KVM injects the interrupt). */
    public void signal() {
        Libc.eventfdWrite(fd(), 1); // false only when the counter is at 2^64-2: signalled already, nothing lost
    }

    /** The counter since the last take, then 0; 0 if nothing was signalled. Never blocks. */
    public long take() {
        return Libc.eventfdRead(fd());
    }
}
