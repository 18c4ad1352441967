package dev.hostd.vmm.machine;

import dev.hostd.vmm.acpi.MmioSlot;
import dev.hostd.vmm.agent.AgentEndpoint;
import dev.hostd.vmm.device.MmioDevice;
import dev.hostd.vmm.device.virtio.IrqfdLine;
import dev.hostd.vmm.device.virtio.VirtioMmioTransport;
import dev.hostd.vmm.device.vsock.VirtioVsock;
import dev.hostd.vmm.kvm.EventFd;
import dev.hostd.vmm.kvm.VmFd;
import dev.hostd.vmm.memory.GuestMemory;
import java.util.List;

/**
 * The virtio-mmio devices of a Linux guest: today the vsock that carries the agent channel, in
 * slot 0 ({@link MmioSlot#standard}), which the DSDT describes as {@code LNRO0005}.
 *
 * <p>Linux takes interrupts and has no wait port, so three things differ from the polled test
 * guest: the device raises its GSI through an irqfd ({@link IrqfdLine}, delivered by KVM's in-kernel
 * irqchip); the guest's queue notifications land on an ioeventfd in the kernel instead of exiting
 * the vCPU; and a service thread of this VM's own, asleep on that eventfd, handles them and the
 * host-side work (bytes a host thread queued for the guest), which the test guest's vCPU thread does
 * on the wait port. Register accesses still exit and are handled on the vCPU thread; it and the
 * service thread take turns under one lock, since the transport and device are single-threaded.
 */
final class LinuxDevices implements AutoCloseable {
    static final int VSOCK_SLOT = 0;

    private final Object lock = new Object();
    private final MmioSlot vsockSlot = MmioSlot.standard(VSOCK_SLOT);
    private final VirtioVsock vsock = new VirtioVsock(VirtioVsock.GUEST_CID);
    private final VmFd vm;
    /** Signalled by KVM on the guest's queue notifications and by host threads with work; the service thread sleeps on it. */
    private final EventFd work = EventFd.createBlocking();
    private final long notifyAddress = vsockSlot.base() + VirtioMmioTransport.QUEUE_NOTIFY_OFFSET;
    private boolean notifyAssigned;
    private IrqfdLine vsockInterrupt;
    private VirtioMmioTransport vsockTransport;
    private AgentEndpoint agent;
    private Thread service;
    private volatile boolean closed;

    private LinuxDevices(VmFd vm) {
        this.vm = vm;
    }

    /**
     * Makes the devices, binds their interrupts and queue notifications on {@code vm} (which must
     * have the in-kernel irqchip), maps their registers on {@code bus} and starts the service thread.
     */
    static LinuxDevices attach(VmFd vm, GuestMemory memory, MmioBus bus, String name) {
        LinuxDevices d = new LinuxDevices(vm);
        try {
            d.vsockInterrupt = IrqfdLine.assign(vm, d.vsockSlot.irq());
            vm.assignIoeventfd(d.work, d.notifyAddress, 4);
            d.notifyAssigned = true;
            d.vsockTransport = new VirtioMmioTransport(d.vsock, memory, d.work::signal, d.vsockInterrupt);
            d.agent = new AgentEndpoint(d.vsock);
            bus.register(d.vsockSlot.base(), d.vsockSlot.size(), d.locked(d.vsockTransport));
            // A platform thread: it sleeps in read(2) on the eventfd, which would pin a virtual thread's carrier.
            d.service = Thread.ofPlatform().daemon().name("virtio-service-" + name).start(d::serve);
        } catch (RuntimeException e) {
            d.close();
            throw e;
        }
        return d;
    }

    /** Where the devices are, for the DSDT. */
    List<MmioSlot> slots() {
        return List.of(vsockSlot);
    }

    VirtioVsock vsock() {
        return vsock;
    }

    AgentEndpoint agent() {
        return agent;
    }

    /**
     * For a clone restored from a snapshot: the guest's vsock connections are gone, so its driver is
     * told (VIRTIO_VSOCK_EVENT_TRANSPORT_RESET) and the device's GSI raised for the event.
     */
    void transportReset() {
        synchronized (lock) {
            vsock.transportReset();
            vsockTransport.service(); // sets InterruptStatus and raises the line for the used event buffer
        }
    }

    private MmioDevice locked(MmioDevice device) {
        return new MmioDevice() {
            @Override
            public long read(long offset, int size) {
                synchronized (lock) {
                    return device.read(offset, size);
                }
            }

            @Override
            public void write(long offset, int size, long value) {
                synchronized (lock) {
                    device.write(offset, size, value);
                }
            }
        };
    }

    private void serve() {
        while (true) {
            work.await(); // every notify and wake-up since the last pass, at once
            if (closed) {
                return;
            }
            synchronized (lock) {
                vsockTransport.notifyAllQueues(); // the guest's notifies: the eventfd does not say which queue
                vsockTransport.service(); // host work; both raise the irqfd themselves when they fill a used ring
            }
        }
    }

    /**
     * Stops the service thread, fails the agent's waiters and unbinds the interrupt and the notify
     * address. Call before the VM fd closes. Idempotent.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (service != null) {
            work.signal();
            try {
                service.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (agent != null) {
            agent.close();
        }
        if (notifyAssigned && !vm.isClosed()) {
            vm.deassignIoeventfd(work, notifyAddress, 4);
        }
        if (vsockInterrupt != null) {
            vsockInterrupt.close();
        }
        work.close();
    }
}
