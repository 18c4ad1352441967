package dev.hostd.vmm.machine;

import dev.hostd.vmm.VmmException;
import dev.hostd.vmm.agent.AgentEndpoint;
import dev.hostd.vmm.device.net.NetAttachment;
import dev.hostd.vmm.device.net.NetEventLoop;
import dev.hostd.vmm.device.net.NetStats;
import dev.hostd.vmm.device.net.VirtioNet;
import dev.hostd.vmm.device.serial.ConsoleLog;
import dev.hostd.vmm.device.serial.Serial8250;
import dev.hostd.vmm.device.serial.SerialState;
import dev.hostd.vmm.device.virtio.VirtioMmioTransport;
import dev.hostd.vmm.device.vsock.VirtioVsock;
import dev.hostd.vmm.kvm.Kvm;
import dev.hostd.vmm.kvm.VcpuFd;
import dev.hostd.vmm.kvm.VmFd;
import dev.hostd.vmm.loader.BootInfo;
import dev.hostd.vmm.loader.GuestLayout;
import dev.hostd.vmm.loader.UserModeBoot;
import dev.hostd.vmm.loader.UserModeElfLoader;
import dev.hostd.vmm.memory.GuestMemory;
import dev.hostd.vmm.memory.MemoryMapping;
import dev.hostd.vmm.snapshot.DeviceState;
import dev.hostd.vmm.snapshot.MachineState;
import dev.hostd.vmm.snapshot.MemoryState;
import dev.hostd.vmm.snapshot.MicrovmState;
import dev.hostd.vmm.snapshot.VcpuState;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One microVM: a KVM VM, its guest RAM, its devices (8250 console, virtio-vsock agent channel,
 * optionally virtio-net on a TAP) and its vCPU thread. Created by booting a guest image or by restoring a snapshot; owns every
 * native resource it holds and releases all of them in {@link #close()}.
 */
public final class MicroVm implements GuestVm, ExitContext {
    public enum State { CREATED, RUNNING, PAUSED, STOPPED }

    static final String SERIAL = "serial0", SERIAL_KIND = "pio/8250";
    static final String VSOCK = "vsock0", VSOCK_KIND = "virtio-mmio/vsock";
    static final String NET = "net0", NET_KIND = "virtio-mmio/net";
    /** The MAC of a net device before anyone gave it one (locally administered). */
    static final byte[] DEFAULT_MAC = {0x02, 0, 0, 0, 0, 0x01};

    private final String name;
    private final MachineConfig config;
    private final VmFd vmFd;
    private final MemoryMapping ram;
    private final GuestMemory memory;
    private final PioBus pio = new PioBus();
    private final MmioBus mmio = new MmioBus();
    private final Serial8250 serial;
    private final VirtioVsock vsock;
    private final VirtioMmioTransport vsockTransport;
    private final AgentEndpoint agent;
    /** Null when the machine has no network device. */
    private final VirtioNet net;
    private final VirtioMmioTransport netTransport;
    private final Vcpu vcpu;
    private final CompletableFuture<Void> stopped = new CompletableFuture<>();
    private final AtomicReference<VmmException> failure = new AtomicReference<>();
    private State state = State.CREATED;
    /** The CPUID table the vCPU was given; KVM cannot be asked for it back on every kernel. */
    private byte[] cpuid;

    private MicroVm(String name, VmShell shell, MachineConfig config, NetAttachment netAttachment) {
        MemoryMapping ram = shell.ram();
        this.name = name;
        this.config = config;
        this.ram = ram;
        this.memory = new GuestMemory(ram.segment());
        try {
            if (ram.size() != config.memoryBytes()) {
                throw new VmmException(VmmException.Kind.INVALID_INPUT, "create VM",
                        "memory mapping is " + ram.size() + " bytes but the machine has " + config.memoryBytes());
            }
            if (shell.irqchip() != config.irqchip()) {
                throw new VmmException(VmmException.Kind.INVALID_INPUT, "create VM", "the VM was made "
                        + (shell.irqchip() ? "with" : "without") + " an in-kernel irqchip, the machine needs the opposite");
            }
            if (netAttachment != null && netAttachment.tap() != null && !config.net()) {
                throw new VmmException(VmmException.Kind.INVALID_INPUT, "create VM", "a TAP was given but the machine has no network device");
            }
            shell.take();
        } catch (RuntimeException e) {
            closeQuietly(shell);
            closeQuietly(netAttachment == null ? null : netAttachment.tap());
            throw e;
        }
        VmFd vm = shell.vm();
        VcpuFd vcpuFd = shell.vcpu();
        this.vmFd = vm;
        this.serial = new Serial8250(new ConsoleLog(config.consoleLogBytes()));
        pio.register(Serial8250.COM1_BASE, Serial8250.PORT_COUNT, serial);
        this.vsock = new VirtioVsock(VirtioVsock.GUEST_CID);
        this.agent = new AgentEndpoint(vsock);
        this.vcpu = new Vcpu(vcpuFd, this, this::fail);
        this.vsockTransport = new VirtioMmioTransport(vsock, memory, vcpu::wake);
        mmio.register(GuestLayout.mmioBase(0), GuestLayout.MMIO_DEVICE_SIZE, vsockTransport);
        if (config.net()) {
            this.net = new VirtioNet(netAttachment != null && netAttachment.mac() != null ? netAttachment.mac() : DEFAULT_MAC,
                    netAttachment == null ? null : netAttachment.tap()); // owns the TAP from here; close() closes it
            this.netTransport = new VirtioMmioTransport(net, memory, vcpu::wake);
            mmio.register(GuestLayout.mmioBase(NET_SLOT), GuestLayout.MMIO_DEVICE_SIZE, netTransport);
        } else {
            this.net = null;
            this.netTransport = null;
        }
    }

    /** virtio-mmio slot of the net device (vsock is slot 0). */
    static final int NET_SLOT = 1;

    /**
     * Boots a user-mode guest image into fresh RAM. The VM is created paused: write its
     * identity, then {@link #resume()}.
     */
    public static MicroVm boot(String name, Kvm kvm, MachineConfig config, MemoryMapping ram, byte[] guestImage) {
        return boot(name, kvm, config, ram, guestImage, null);
    }

    /**
     * Boots with the machine's network device connected as {@code net} says (null or a null TAP:
     * disconnected). The VM owns the TAP from the call on.
     */
    public static MicroVm boot(String name, Kvm kvm, MachineConfig config, MemoryMapping ram, byte[] guestImage, NetAttachment net) {
        VmShell shell;
        try {
            shell = VmShell.withMemory(kvm, config.irqchip(), ram);
        } catch (RuntimeException e) {
            closeQuietly(net == null ? null : net.tap());
            throw e;
        }
        MicroVm vm = new MicroVm(name, shell, config, net);
        try {
            UserModeElfLoader.LoadedImage image = UserModeElfLoader.load(vm.memory, guestImage);
            VcpuFd fd = vm.vcpu.fd();
            vm.cpuid = kvm.supportedCpuidEntries();
            fd.setCpuid(vm.cpuid);
            List<BootInfo.Device> devices = new ArrayList<>();
            devices.add(new BootInfo.Device(GuestLayout.mmioBase(0), (int) GuestLayout.MMIO_DEVICE_SIZE, vm.vsock.deviceId()));
            if (vm.net != null) {
                devices.add(new BootInfo.Device(GuestLayout.mmioBase(NET_SLOT), (int) GuestLayout.MMIO_DEVICE_SIZE, vm.net.deviceId()));
            }
            BootInfo info = new BootInfo(config.memoryBytes(), fd.tscKhz(), image.heapStart(), devices);
            UserModeBoot.writeTables(vm.memory, info);
            UserModeBoot.setRegisters(fd, image.entry());
            vm.startPaused();
            return vm;
        } catch (RuntimeException e) {
            vm.close();
            throw e;
        }
    }

    /**
     * Restores a saved VM into {@code shell}, whose memory is a copy-on-write mapping of the saved
     * VM's memory file (see {@link VmShells}). Created paused. Owns the shell from the call on.
     */
    public static MicroVm restore(String name, VmShell shell, RestoreImage image, int consoleLogBytes) {
        return restore(name, shell, image, consoleLogBytes, null);
    }

    /**
     * Restores with the saved network device (if the snapshot has one) connected as {@code net}
     * says: a clone gets a TAP of its own and the MAC of its identity. The VM owns the TAP from the
     * call on. A TAP for a snapshot without a network device is refused.
     */
    public static MicroVm restore(String name, VmShell shell, RestoreImage image, int consoleLogBytes, NetAttachment net) {
        MicrovmState saved = image.state();
        MachineState m = saved.machine();
        MachineConfig config;
        try {
            boolean hasNet = saved.devices().stream().anyMatch(d -> d.name().equals(NET));
            config = new MachineConfig(m.memoryBytes(), m.vcpuCount(), m.irqchip(), consoleLogBytes, m.guestKind(), hasNet);
        } catch (RuntimeException e) {
            closeQuietly(shell);
            closeQuietly(net == null ? null : net.tap());
            throw e;
        }
        MicroVm vm = new MicroVm(name, shell, config, net);
        try {
            VmStates.restore(vm.vmFd, saved.vm());
            vm.cpuid = saved.vcpus().getFirst().cpuidEntries();
            image.restoreVcpu(vm.vcpu.fd());
            vm.restoreDevices(saved.devices());
            if (net != null && net.mac() != null && vm.net != null) {
                vm.net.setMac(net.mac());
            }
            vm.startPaused();
            return vm;
        } catch (RuntimeException e) {
            vm.close();
            throw e;
        }
    }

    private void startPaused() {
        if (net != null) {
            net.connect(NetEventLoop.shared(), vcpu::wake);
        }
        vcpu.start("vcpu-" + name, true);
        state = State.PAUSED;
    }

    public String name() {
        return name;
    }

    public MachineConfig config() {
        return config;
    }

    public GuestMemory memory() {
        return memory;
    }

    public ConsoleLog console() {
        return serial.log();
    }

    public AgentEndpoint agent() {
        return agent;
    }

    /** Linux thread ids of the VM's vCPU threads (one today); empty once the VM stopped. */
    public int[] vcpuThreadIds() {
        int tid = vcpu.threadId();
        return tid == 0 ? new int[0] : new int[] {tid};
    }

    /**
     * Hands every vCPU thread of this (created or paused) VM to {@code binding}; see
     * {@link VcpuThreadBinding} for when each side runs. If bind throws, nothing stays bound.
     */
    public void bindVcpuThreads(VcpuThreadBinding binding) {
        vcpu.bindThread(binding);
    }

    /** Bytes of guest RAM that are this VM's own (pages the guest or the VMM wrote), from /proc/self/pagemap. */
    public long privateMemoryBytes() {
        return ram.privatePageCount() * 4096; // pagemap entries are per 4 KiB page
    }

    /** Counters of the network device, if the machine has one. */
    public Optional<NetStats> netStats() {
        return net == null ? Optional.empty() : Optional.of(net.stats());
    }

    /** Completes when the VM stops; exceptionally, with the reason, if the guest or a vCPU failed. */
    public CompletableFuture<Void> stopped() {
        return stopped;
    }

    /** The VM fd, for tests that bind eventfds to a VM before it runs. */
    VmFd vmFdForTest() {
        return vmFd;
    }

    /** The vCPU fd, for tests that inspect registers of a paused VM. */
    dev.hostd.vmm.kvm.VcpuFd vcpuForTest() {
        return vcpu.fd();
    }

    public synchronized State state() {
        return state;
    }

    public synchronized void resume() {
        requireState(State.PAUSED, "resume");
        vcpu.resume();
        state = State.RUNNING;
    }

    /**
     * Waits until the guest parks on its wait port with no device work pending: the quiet point at
     * which a Basepoint is taken, so no half-sent packet is frozen into the template.
     */
    public void awaitIdle(java.time.Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!vcpu.idle()) {
            rethrowFailure();
            if (System.nanoTime() > deadline) {
                throw new VmmException(VmmException.Kind.TIMEOUT, "await idle",
                        "guest of VM " + name + " did not go idle within " + timeout.toMillis() + " ms; console tail:\n" + consoleTail());
            }
            java.util.concurrent.locks.LockSupport.parkNanos(200_000);
        }
    }

    /** Stops the vCPU out of the guest, with any I/O instruction completed. */
    public synchronized void pause() {
        requireState(State.RUNNING, "pause");
        vcpu.pause();
        rethrowFailure();
        state = State.PAUSED;
    }

    /** The full state of a paused VM; RAM is described by {@code memoryState}, not copied. */
    public synchronized MicrovmState saveState(MemoryState memoryState, Map<String, String> metadata) {
        requireState(State.PAUSED, "save state");
        VcpuFd fd = vcpu.fd();
        VcpuState vcpuState = VcpuStates.capture(fd, cpuid, vmFd.kvm().msrIndexList(), config.irqchip());
        List<DeviceState> devices = new ArrayList<>(List.of(
                new DeviceState(SERIAL, SERIAL_KIND, serial.saveState().toBytes()),
                new DeviceState(VSOCK, VSOCK_KIND, vsockTransport.saveState())));
        if (netTransport != null) {
            devices.add(new DeviceState(NET, NET_KIND, netTransport.saveState()));
        }
        return new MicrovmState(new MachineState(1, config.memoryBytes(), config.irqchip(), config.guestKind()),
                memoryState, VmStates.capture(vmFd, config.irqchip()), List.of(vcpuState), devices, metadata);
    }

    private void restoreDevices(List<DeviceState> devices) {
        int expected = net == null ? 2 : 3;
        if (devices.size() != expected) {
            throw new VmmException(VmmException.Kind.INVALID_INPUT, "restore devices", "snapshot has " + devices.size()
                    + " devices, this machine has " + expected + " (" + SERIAL + ", " + VSOCK + (net == null ? "" : ", " + NET) + ")");
        }
        for (DeviceState d : devices) {
            switch (d.name() + "|" + d.kind()) {
                case SERIAL + "|" + SERIAL_KIND -> serial.restoreState(SerialState.fromBytes(d.data()));
                case VSOCK + "|" + VSOCK_KIND -> vsockTransport.restoreState(d.data());
                case NET + "|" + NET_KIND -> {
                    if (netTransport == null) {
                        throw new VmmException(VmmException.Kind.INVALID_INPUT, "restore devices", "snapshot has " + NET + " but the machine has none");
                    }
                    netTransport.restoreState(d.data());
                }
                default -> throw new VmmException(VmmException.Kind.INVALID_INPUT, "restore devices",
                        "snapshot has a device this machine does not: " + d.name() + " (" + d.kind() + ")");
            }
        }
    }

    @Override
    public PioBus pio() {
        return pio;
    }

    @Override
    public MmioBus mmio() {
        return mmio;
    }

    @Override
    public boolean serviceDevices() {
        boolean vsockWork = vsockTransport.service();
        return (netTransport != null && netTransport.service()) | vsockWork;
    }

    @Override
    public String consoleTail() {
        return serial.log().tail(10);
    }

    private void fail(VmmException e) {
        failure.compareAndSet(null, e);
        synchronized (this) {
            state = State.STOPPED;
        }
        agent.close();
        stopped.completeExceptionally(e);
    }

    private void rethrowFailure() {
        VmmException e = failure.get();
        if (e != null) {
            throw new VmmException(e.kind(), e.operation(), "VM " + name + " failed: " + e.getMessage(), e);
        }
    }

    private void requireState(State expected, String operation) {
        rethrowFailure();
        if (state != expected) {
            throw new VmmException(VmmException.Kind.INVALID_STATE, operation,
                    "cannot " + operation + " VM " + name + ": it is " + state.name().toLowerCase() + ", not " + expected.name().toLowerCase());
        }
    }

    /** Stops the vCPU and releases the vCPU, the VM and the RAM mapping. Idempotent. */
    @Override
    public void close() {
        vcpu.stop();
        agent.close();
        synchronized (this) {
            state = State.STOPPED;
        }
        closeQuietly(vcpu.fd());
        closeQuietly(vmFd);
        closeQuietly(net);
        ram.close();
        stopped.complete(null);
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception ignored) {
            // best effort during teardown of a half-built VM; the first error is what the caller sees
        }
    }
}
