package dev.hostd.vmm.machine;

import dev.hostd.vmm.acpi.MmioSlot;
import dev.hostd.vmm.agent.AgentEndpoint;
import dev.hostd.vmm.device.MmioDevice;
import dev.hostd.vmm.device.net.NetAttachment;
import dev.hostd.vmm.device.net.NetEventLoop;
import dev.hostd.vmm.device.net.VirtioNet;
import dev.hostd.vmm.device.virtio.IrqfdLine;
import dev.hostd.vmm.device.virtio.VirtioDevice;
import dev.hostd.vmm.device.virtio.VirtioMmioTransport;
import dev.hostd.vmm.device.vsock.VirtioVsock;
import dev.hostd.vmm.kvm.EventFd;
import dev.hostd.vmm.kvm.VmFd;
import dev.hostd.vmm.memory.GuestMemory;
import java.util.ArrayList;
import java.util.List;

/**
 * The virtio-mmio devices of a Linux guest: the vsock that carries the agent channel in slot 0 and,
 * if the VM has a network, a virtio-net on its TAP in slot 1 ({@link MmioSlot#standard}), which
 * the DSDT describes as {@code LNRO0005}.
 *
 * <p>Linux takes interrupts and has no wait port, so three things differ from the polled test
 * guest: each device raises its GSI through an irqfd ({@link IrqfdLine}, delivered by KVM's
 * in-kernel irqchip); the guest's queue notifications land on an ioeventfd in the kernel instead
 * of exiting the vCPU; and a service thread of this VM's own, asleep on that eventfd, handles them
 * and the host-side work (bytes a host thread queued for the guest, frames arriving on the TAP),
 * which the test guest's vCPU thread does on the wait port. Register accesses still exit and are
 * handled on the vCPU thread; it and the service thread take turns under one lock, since
 * transports and devices are single-threaded.
 */
final class LinuxDevices implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(LinuxDevices.class.getName());
    static final int VSOCK_SLOT = 0, NET_SLOT = 1;
    /** A Linux VM's NIC before an identity gives it one: locally administered, unicast. */
    static final byte[] DEFAULT_MAC = {0x02, 0, 0, 0, 0, 0x01};

    /** One device as wired: where it is and its transport. */
    private record Wired(MmioSlot slot, VirtioMmioTransport transport) {}

    private final Object lock = new Object();
    private final VmFd vm;
    /** Signalled by KVM on the guest's queue notifications and by host threads with work; the service thread sleeps on it. */
    private final EventFd work = EventFd.createBlocking();
    private final List<Wired> wired = new ArrayList<>();
    private final List<Long> notifyAddresses = new ArrayList<>();
    private final List<IrqfdLine> interrupts = new ArrayList<>();
    private final VirtioVsock vsock = new VirtioVsock(VirtioVsock.GUEST_CID);
    private VirtioNet net;
    private AgentEndpoint agent;
    private Thread service;
    private volatile boolean closed;

    private LinuxDevices(VmFd vm) {
        this.vm = vm;
    }

    /**
     * Makes the devices, binds their interrupts and queue notifications on {@code vm} (which must
     * have the in-kernel irqchip), maps their registers on {@code bus} and starts the service
     * thread. With {@code network} (not null), a virtio-net in slot 1 owns its TAP from this call on,
     * also if it fails.
     */
    static LinuxDevices attach(VmFd vm, GuestMemory memory, MmioBus bus, String name, NetAttachment network) {
        LinuxDevices d = new LinuxDevices(vm);
        try {
            if (network != null) { // first: from here the device owns the TAP, and close() closes it
                d.net = new VirtioNet(network.mac() != null ? network.mac() : DEFAULT_MAC, network.tap());
            }
            d.wire(memory, bus, MmioSlot.standard(VSOCK_SLOT), d.vsock);
            d.agent = new AgentEndpoint(d.vsock);
            if (d.net != null) {
                d.wire(memory, bus, MmioSlot.standard(NET_SLOT), d.net);
                d.net.connect(NetEventLoop.shared(), d.work::signal); // frames on the TAP wake the service thread
            }
            // A platform thread: it sleeps in read(2) on the eventfd, which would pin a virtual thread's carrier.
            d.service = Thread.ofPlatform().daemon().name("virtio-service-" + name).start(d::serve);
        } catch (RuntimeException e) {
            d.close();
            throw e;
        }
        return d;
    }

    /** A VM without a network. */
    static LinuxDevices attach(VmFd vm, GuestMemory memory, MmioBus bus, String name) {
        return attach(vm, memory, bus, name, null);
    }

    private void wire(GuestMemory memory, MmioBus bus, MmioSlot slot, VirtioDevice device) {
        IrqfdLine interrupt = IrqfdLine.assign(vm, slot.irq());
        interrupts.add(interrupt);
        long notify = slot.base() + VirtioMmioTransport.QUEUE_NOTIFY_OFFSET;
        vm.assignIoeventfd(work, notify, 4); // one eventfd for all: the service pass looks at every device
        notifyAddresses.add(notify);
        VirtioMmioTransport transport = new VirtioMmioTransport(device, memory, work::signal, interrupt);
        bus.register(slot.base(), slot.size(), locked(transport));
        wired.add(new Wired(slot, transport));
    }

    /** Whether the caller is the service thread (where vsock callbacks and agent futures run, holding the device lock). */
    boolean onServiceThread() {
        return Thread.currentThread() == service;
    }

    /** Slot 0's: the vsock is wired first, always. */
    private VirtioMmioTransport vsockTransport() {
        return wired.getFirst().transport();
    }

    /** Where the devices are, for the DSDT. */
    List<MmioSlot> slots() {
        return wired.stream().map(Wired::slot).toList();
    }

    VirtioVsock vsock() {
        return vsock;
    }

    /** The network device, or null if the VM has none. */
    VirtioNet net() {
        return net;
    }

    AgentEndpoint agent() {
        return agent;
    }

    /** The vsock's transport and device state, for a snapshot (the vCPUs are paused; the service thread may still run). */
    byte[] saveVsockState() {
        synchronized (lock) {
            return vsockTransport().saveState();
        }
    }

    /** Something done while the devices are quiet. */
    interface QuietAction {
        void run() throws java.io.IOException;
    }

    /**
     * Runs {@code action} with no device work in progress: the service thread cannot fill a ring
     * in guest RAM meanwhile, so a snapshot's device state and RAM agree (the vCPUs are paused).
     */
    void whileQuiet(QuietAction action) throws java.io.IOException {
        synchronized (lock) {
            action.run();
        }
    }

    /**
     * Restores {@link #saveVsockState()} output; throws DeviceStateException on bad bytes, changing
     * nothing. Then every ready queue is looked at once: a notify the guest wrote just before the
     * snapshot may still have been counted in the old VM's ioeventfd, which a snapshot does not keep.
     */
    void restoreVsockState(byte[] state) {
        synchronized (lock) {
            vsockTransport().restoreState(state);
            vsockTransport().notifyAllQueues();
        }
    }

    /**
     * For a clone restored from a snapshot: the guest's vsock connections are gone, so its driver is
     * told (VIRTIO_VSOCK_EVENT_TRANSPORT_RESET) and the device's GSI raised for the event.
     */
    void transportReset() {
        synchronized (lock) {
            vsock.transportReset();
            vsockTransport().service(); // sets InterruptStatus and raises the line for the used event buffer
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
        try {
            while (true) {
                // Every notify and wake-up since the last pass, at once (a pass that fills a ring signals
                // one more, empty, pass: the transport wakes the polled guest's vCPU the same way).
                work.await();
                if (closed) {
                    return;
                }
                synchronized (lock) {
                    for (Wired w : wired) {
                        w.transport().notifyAllQueues(); // the guest's notifies: the eventfd does not say which queue
                        w.transport().service(); // host work; both raise the irqfd themselves when they fill a used ring
                    }
                }
            }
        } catch (RuntimeException e) { // device faults are the transports' (DEVICE_NEEDS_RESET); this is the eventfd itself
            if (!closed) {
                LOG.log(System.Logger.Level.ERROR, "the virtio service thread of " + Thread.currentThread().getName()
                        + " stopped: the VM's devices are no longer served", e);
            }
        }
    }

    /**
     * Stops the service thread, fails the agent's waiters, closes the network device and its TAP,
     * and unbinds the interrupts and notify addresses. Call before the VM fd closes. Idempotent.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        // Not from the service thread itself (an agent callback closing its VM): it returns after this pass.
        if (service != null && Thread.currentThread() != service) {
            work.signal();
            boolean interrupted = false;
            while (service.isAlive()) { // the eventfd, rings and RAM must outlive every pass
                try {
                    service.join();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
        if (agent != null) {
            agent.close();
        }
        if (net != null) {
            net.close();
        }
        for (long notify : notifyAddresses) {
            if (!vm.isClosed()) {
                vm.deassignIoeventfd(work, notify, 4);
            }
        }
        interrupts.forEach(IrqfdLine::close);
        work.close();
    }
}
