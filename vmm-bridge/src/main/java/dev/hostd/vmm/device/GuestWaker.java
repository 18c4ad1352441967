package dev.hostd.vmm.device;

/**
 * How a device tells the VM that the guest has work: it has put buffers in a used ring, or host
 * work is queued for the device to deliver. Polled guests park on the wait port; this wakes them.
 * Safe to call from any thread, any number of times.
 */
@FunctionalInterface
public interface GuestWaker {
    void wake();
}
