package dev.hostd.vmm.device.virtio;

import dev.hostd.vmm.kvm.EventFd;
import dev.hostd.vmm.kvm.VmFd;

/**
 * A virtio-mmio device's interrupt for guests that take interrupts (Linux): an eventfd bound to
 * the device's GSI with KVM_IRQFD, so raising it is one eventfd write on the vCPU or back-end
 * thread and KVM's in-kernel irqchip delivers the edge. Owns the eventfd; close deassigns it.
 */
public final class IrqfdLine implements InterruptLine, AutoCloseable {
    private final VmFd vm;
    private final EventFd event;
    private final int gsi;

    private IrqfdLine(VmFd vm, EventFd event, int gsi) {
        this.vm = vm;
        this.event = event;
        this.gsi = gsi;
    }

    /** Binds a new eventfd to {@code gsi} of {@code vm}, which must have the in-kernel irqchip. */
    public static IrqfdLine assign(VmFd vm, int gsi) {
        EventFd event = EventFd.create();
        try {
            vm.assignIrqfd(event, gsi);
        } catch (RuntimeException e) {
            event.close();
            throw e;
        }
        return new IrqfdLine(vm, event, gsi);
    }

    public int gsi() {
        return gsi;
    }

    @Override
    public void raise() {
        event.signal();
    }

    @Override
    public void close() {
        try {
            if (!vm.isClosed()) {
                vm.deassignIrqfd(event, gsi); // a closed VM dropped its irqfds already
            }
        } finally {
            event.close();
        }
    }
}
