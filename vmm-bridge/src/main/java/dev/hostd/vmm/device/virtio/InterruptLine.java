package dev.hostd.vmm.device.virtio;

/**
 * Where a transport signals a used-buffer or configuration-change notification to the guest.
 * Guests of the current ABI are polled (no IDT, interrupts off), so the default is {@link #NONE};
 * a later change wires this to an irqfd / GSI without touching the transport's logic.
 */
@FunctionalInterface
public interface InterruptLine {
    /** A line that does nothing: polled guests read the used rings instead. */
    InterruptLine NONE = () -> {};

    /** Called on the vCPU thread after InterruptStatus gained a bit; must not block. */
    void raise();
}
