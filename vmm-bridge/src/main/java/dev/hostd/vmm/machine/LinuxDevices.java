package dev.hostd.vmm.machine;

import dev.hostd.vmm.acpi.MmioSlot;
import dev.hostd.vmm.agent.AgentEndpoint;
import dev.hostd.vmm.device.MmioDevice;
import dev.hostd.vmm.device.virtio.IrqfdLine;
import dev.hostd.vmm.device.virtio.VirtioMmioTransport;
import dev.hostd.vmm.device.vsock.VirtioVsock;
import dev.hostd.vmm.kvm.VmFd;
import dev.hostd.vmm.memory.GuestMemory;
import java.util.List;
import java.util.concurrent.Semaphore;

/**
 * The virtio-mmio devices of a Linux guest: today the vsock that carries the agent channel, in
 * slot 0 ({@link MmioSlot#standard}), which the DSDT describes as {@code LNRO0005}.
 *
 * <p>Linux takes interrupts and has no wait port, so two things differ from the polled test guest:
 * the device raises its GSI through an irqfd ({@link IrqfdLine}, delivered by KVM's in-kernel
 * irqchip), and host-side work (bytes a host thread queued for the guest) is delivered by a service
 * thread of this VM's own instead of the vCPU thread parked on the wait port. The vCPU thread
 * (register accesses, queue notifies) and the service thread take turns under one lock, since the
 * transport and device are single-threaded.
 */
final class LinuxDevices implements AutoCloseable {
    static final int VSOCK_SLOT = 0;

    private final Object lock = new Object();
    private final MmioSlot vsockSlot = MmioSlot.standard(VSOCK_SLOT);
    private final VirtioVsock vsock = new VirtioVsock(VirtioVsock.GUEST_CID);
    private final IrqfdLine vsockInterrupt;
    private final VirtioMmioTransport vsockTransport;
    private final AgentEndpoint agent;
    /** One permit per wake-up asked for; the service thread drains them all per pass. */
    private final Semaphore work = new Semaphore(0);
    private final Thread service;
    private volatile boolean closed;

    private LinuxDevices(VmFd vm, GuestMemory memory, String name) {
        this.vsockInterrupt = IrqfdLine.assign(vm, vsockSlot.irq());
        this.vsockTransport = new VirtioMmioTransport(vsock, memory, work::release, vsockInterrupt);
        this.agent = new AgentEndpoint(vsock);
        // A virtual thread: a host packs thousands of VMs, and this one sleeps until a host thread queues work.
        this.service = Thread.ofVirtual().name("virtio-service-" + name).start(this::serve);
    }

    /** Makes the devices, binds their interrupts on {@code vm} (which must have the in-kernel irqchip) and maps them on {@code bus}. */
    static LinuxDevices attach(VmFd vm, GuestMemory memory, MmioBus bus, String name) {
        LinuxDevices devices = new LinuxDevices(vm, memory, name);
        try {
            bus.register(devices.vsockSlot.base(), devices.vsockSlot.size(), devices.locked(devices.vsockTransport));
        } catch (RuntimeException e) {
            devices.close();
            throw e;
        }
        return devices;
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

    /** The vsock's transport and device state, for a snapshot (the vCPUs are paused; the service thread may still run). */
    byte[] saveVsockState() {
        synchronized (lock) {
            return vsockTransport.saveState();
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

    /** Restores {@link #saveVsockState()} output; throws DeviceStateException on bad bytes, changing nothing. */
    void restoreVsockState(byte[] state) {
        synchronized (lock) {
            vsockTransport.restoreState(state);
        }
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
        while (!closed) {
            work.acquireUninterruptibly();
            work.drainPermits(); // one pass delivers everything queued so far
            if (closed) {
                return;
            }
            synchronized (lock) {
                vsockTransport.service(); // raises the irqfd itself when it fills a used ring
            }
        }
    }

    /** Stops the service thread, fails the agent's waiters and unbinds the interrupt. Call before the VM fd closes. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        work.release();
        try {
            service.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        agent.close();
        vsockInterrupt.close();
    }
}
