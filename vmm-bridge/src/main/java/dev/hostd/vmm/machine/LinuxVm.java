package dev.hostd.vmm.machine;

import dev.hostd.vmm.VmmException;
import dev.hostd.vmm.acpi.AcpiLayout;
import dev.hostd.vmm.acpi.AcpiTables;
import dev.hostd.vmm.agent.AgentEndpoint;
import dev.hostd.vmm.device.platform.AcpiSleepRegisters;
import dev.hostd.vmm.device.platform.I8042;
import dev.hostd.vmm.device.net.NetAttachment;
import dev.hostd.vmm.device.serial.ConsoleLog;
import dev.hostd.vmm.device.serial.Serial8250;
import dev.hostd.vmm.identity.Identity;
import dev.hostd.vmm.identity.IdentityPage;
import dev.hostd.vmm.kvm.Kvm;
import dev.hostd.vmm.loader.GuestLayout;
import dev.hostd.vmm.loader.linux.BootParams;
import dev.hostd.vmm.loader.linux.BzImage;
import dev.hostd.vmm.loader.linux.E820Map;
import dev.hostd.vmm.loader.linux.IdentityArgument;
import dev.hostd.vmm.loader.linux.InitrdPlacement;
import dev.hostd.vmm.loader.linux.LinuxCpuid;
import dev.hostd.vmm.loader.linux.LinuxLayout;
import dev.hostd.vmm.loader.linux.LongModeBoot;
import dev.hostd.vmm.loader.linux.PvhBoot;
import dev.hostd.vmm.loader.linux.PvhKernel;
import dev.hostd.vmm.loader.linux.PvhStartInfo;
import dev.hostd.vmm.loader.linux.Vmlinux;
import dev.hostd.vmm.memory.GuestMemory;
import dev.hostd.vmm.memory.MemoryFile;
import dev.hostd.vmm.memory.MemoryMapping;
import dev.hostd.vmm.snapshot.MicrovmState;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A stock Linux kernel booted through PVH (issue 7, early boot): the vmlinux from a bzImage loaded
 * at its physical addresses, hvm_start_info with our e820 map, command line and RSDP, our ACPI
 * tables at 0xE0000, KVM's in-kernel irqchip and PIT, an 8250 at COM1 as the console, an optional
 * initramfs (the first PVH module) and the identity page at {@link LinuxLayout#IDENTITY_PAGE}, named
 * on the command line for the agent. Up to {@link #MAX_VCPUS} vCPUs: the BSP (vCPU 0) starts at the
 * PVH entry, the others wait in KVM for the kernel's INIT-SIPI-SIPI. The guest stops itself by a
 * reset through the i8042, an ACPI power-off or a triple fault ({@link StopReason}). The agent
 * channel is a virtio-mmio vsock in slot 0 that the DSDT describes ({@link LinuxDevices}: irqfd
 * interrupts, a service thread for host-side work). {@link #snapshot} saves it and {@link #restore}
 * makes a new VM from the saved state (a Linux Basepoint and its clones). Starts running;
 * {@link #close()} releases everything.
 */
public final class LinuxVm implements GuestVm, ExitContext {
    /** Linux prints a lot before anyone reads it; keep the whole early log. */
    static final int CONSOLE_LOG_BYTES = 1 << 20;
    static final int MIN_MEMORY_MIB = 64;
    /** Each vCPU holds a platform thread and a kvm_run mapping; sandboxes are small. The MADT allows 255. */
    public static final int MAX_VCPUS = 32;

    private final String name;
    private final VmShell shell;
    private final GuestMemory memory;
    private final PioBus pio = new PioBus();
    private final MmioBus mmio = new MmioBus();
    private final Serial8250 serial = new Serial8250(new ConsoleLog(CONSOLE_LOG_BYTES));
    private final VcpuGroup vcpus;
    private final LinuxDevices devices;
    private LinuxBootLayout layout;
    private boolean paused;
    private final AtomicBoolean closed = new AtomicBoolean();

    private LinuxVm(String name, VmShell shell, int vcpuCount, NetAttachment network) {
        this.name = name;
        this.shell = shell;
        shell.take();
        this.memory = new GuestMemory(shell.ram().segment());
        pio.register(Serial8250.COM1_BASE, Serial8250.PORT_COUNT, serial);
        try {
            this.vcpus = new VcpuGroup(shell, vcpuCount, this);
        } catch (RuntimeException e) {
            closeShell();
            throw e;
        }
        pio.register(I8042.BASE, I8042.PORT_COUNT, new I8042(() -> vcpus.stopWith(StopReason.REBOOT)));
        pio.register(AcpiTables.SLEEP_CONTROL_PORT, AcpiSleepRegisters.PORT_COUNT,
                new AcpiSleepRegisters(() -> vcpus.stopWith(StopReason.POWER_OFF)));
        try {
            this.devices = LinuxDevices.attach(shell.vm(), memory, mmio, name, network);
        } catch (RuntimeException e) {
            vcpus.close();
            closeShell();
            throw e;
        }
    }

    /**
     * Boots the kernel in {@code bzImage} with {@code cmdline}, {@code memoryMiB} of RAM and
     * {@code vcpus} vCPUs (1..{@link #MAX_VCPUS}).
     */
    public static LinuxVm boot(String name, Kvm kvm, byte[] bzImage, String cmdline, int memoryMiB, int vcpus) {
        return boot(name, kvm, bzImage, LinuxBootConfig.of(cmdline, memoryMiB, vcpus));
    }

    /** Boots the kernel in {@code bzImage} with everything in {@code config}. */
    public static LinuxVm boot(String name, Kvm kvm, byte[] bzImage, LinuxBootConfig config) {
        return owningTap(config, () -> {
            checkShape(config);
            return bootOwningTap(name, kvm, Vmlinux.extract(bzImage), config);
        });
    }

    /** Boots a vmlinux ELF with a PVH note (what {@link #boot} extracts from a bzImage). */
    public static LinuxVm bootVmlinux(String name, Kvm kvm, byte[] elf, String cmdline, int memoryMiB, int vcpus) {
        return bootVmlinux(name, kvm, elf, LinuxBootConfig.of(cmdline, memoryMiB, vcpus));
    }

    /** Boots a vmlinux ELF with a PVH note with everything in {@code config}. */
    public static LinuxVm bootVmlinux(String name, Kvm kvm, byte[] elf, LinuxBootConfig config) {
        return owningTap(config, () -> bootOwningTap(name, kvm, elf, config));
    }

    /** The VM owns the configuration's TAP from the boot call on: a boot that fails closes it. */
    private static LinuxVm owningTap(LinuxBootConfig config, java.util.function.Supplier<LinuxVm> boot) {
        try {
            return boot.get();
        } catch (RuntimeException e) {
            if (config.network() != null && config.network().tap() != null) {
                config.network().tap().close(); // idempotent: the device may have closed it already
            }
            throw e;
        }
    }

    /** The VM with its RAM (an anonymous memfd of {@code memoryBytes}) and devices; the NIC starts with the identity's MAC if none was given. */
    private static LinuxVm create(String name, Kvm kvm, LinuxBootConfig config, long memoryBytes) {
        MemoryMapping ram;
        try (MemoryFile file = MemoryFile.anonymous("linux-" + name, memoryBytes)) {
            ram = file.mapShared();
        }
        NetAttachment network = config.network();
        if (network != null && network.mac() == null && config.identity() != null) {
            network = new NetAttachment(network.tap(), config.identity().mac());
        }
        return new LinuxVm(name, VmShell.withMemory(kvm, true, ram), config.vcpus(), network);
    }

    /** What both entries give the guest alike: ACPI tables, command line, initramfs, identity page. */
    private void writeBootInputs(LinuxBootConfig config, AcpiLayout acpi, byte[] cmd, long initrd) {
        memory.write(acpi.rsdpAddress(), acpi.image(), 0, acpi.image().length);
        memory.write(LinuxLayout.CMDLINE, cmd, 0, cmd.length);
        if (config.initramfs() != null) {
            memory.write(initrd, config.initramfs(), 0, config.initramfs().length);
        }
        if (config.identity() != null) {
            byte[] seed = new byte[IdentityPage.SEED_BYTES];
            new SecureRandom().nextBytes(seed);
            IdentityPage.write(memory, LinuxLayout.IDENTITY_PAGE, config.identity(), 1, seed,
                    java.time.Instant.now().toEpochMilli() * 1_000_000L);
        }
    }

    /** Each vCPU's CPUID: what KVM supports minus what its emulator cannot run, with APIC ID = vCPU id, as the MADT has it. */
    private void setCpuid(Kvm kvm) {
        byte[] supported = kvm.supportedCpuidEntries();
        for (int i = 0; i < vcpus.size(); i++) {
            vcpus.setCpuid(i, LinuxCpuid.forGuest(supported, i));
        }
    }

    private static LinuxVm bootOwningTap(String name, Kvm kvm, byte[] elf, LinuxBootConfig config) {
        byte[] cmd = checkShape(config);
        String cmdline = cmdlineText(cmd);
        long memoryBytes = (long) config.memoryMiB() << 20;
        PvhKernel kernel = PvhKernel.parse(elf);
        byte[] initramfs = config.initramfs();
        // Placed before any resource exists, so an initramfs that does not fit costs nothing.
        long initrd = initramfs == null ? 0
                : InitrdPlacement.place(initramfs.length, kernel.end(), Math.min(memoryBytes, GuestLayout.MMIO_BASE));
        LinuxVm vm = create(name, kvm, config, memoryBytes);
        try {
            kernel.load(vm.memory, elf);
            E820Map e820 = E820Map.forGuest(memoryBytes, GuestLayout.MMIO_BASE, LinuxLayout.LOW_RAM_END);
            AcpiLayout acpi = AcpiTables.build(config.vcpus(), vm.devices.slots(), LinuxLayout.ACPI);
            vm.writeBootInputs(config, acpi, cmd, initrd);
            byte[] memmap = PvhStartInfo.memmap(e820);
            vm.memory.write(LinuxLayout.MEMMAP, memmap, 0, memmap.length);
            List<PvhStartInfo.Module> modules = initramfs == null ? List.of()
                    : List.of(new PvhStartInfo.Module(initrd, initramfs.length, 0));
            byte[] modlist = PvhStartInfo.modlist(modules);
            vm.memory.write(LinuxLayout.MODLIST, modlist, 0, modlist.length);
            byte[] startInfo = PvhStartInfo.build(LinuxLayout.CMDLINE, acpi.rsdpAddress(), LinuxLayout.MEMMAP, e820,
                    modules.isEmpty() ? 0 : LinuxLayout.MODLIST, modules.size());
            vm.memory.write(LinuxLayout.START_INFO, startInfo, 0, startInfo.length);
            PvhBoot.writeGdt(vm.memory);
            vm.setCpuid(kvm);
            PvhBoot.setRegisters(vm.vcpus.fd(0), kernel.pvhEntry(), LinuxLayout.START_INFO); // the APs wait for SIPI
            vm.layout = new LinuxBootLayout(e820, acpi, kernel.pvhEntry(), kernel.end(), cmdline, LinuxLayout.IDENTITY_PAGE,
                    initrd, initramfs == null ? 0 : initramfs.length);
            vm.vcpus.start("vcpu-linux-" + name);
            return vm;
        } catch (RuntimeException e) {
            vm.close();
            throw e;
        }
    }

    /**
     * A new VM from the Linux snapshot in {@code dir} (see {@link #snapshot}), with {@code identity}
     * written to its identity page as the next generation (null: keep the saved page). Its RAM is a
     * copy-on-write view of the snapshot's memory file. Starts running.
     */
    public static LinuxVm restore(String name, Kvm kvm, Path dir, Identity identity) {
        try (LinuxSnapshot snapshot = LinuxSnapshot.open(dir)) {
            return restore(name, kvm, snapshot, identity);
        }
    }

    /**
     * A new VM from an opened snapshot (a Basepoint restored many times opens it once): its own VM
     * with irqchip, vCPUs and devices, the saved state loaded into them ({@link LinuxSnapshots#load}),
     * the vsock's transport reset sent, and {@code identity} (null: keep the saved page) written
     * as the next generation. Starts running. If anything fails nothing is left open.
     */
    public static LinuxVm restore(String name, Kvm kvm, LinuxSnapshot snapshot, Identity identity) {
        return restore(name, kvm, snapshot, identity, false);
    }

    /**
     * As {@link #restore(String, Kvm, LinuxSnapshot, Identity)}, but the vCPUs wait before their
     * first instruction until {@link #resume()}: time to ask the agent for the HELLO the clone's
     * guest sends once it reconnects ({@code agent().expectHello()}), which could otherwise come first.
     */
    public static LinuxVm restorePaused(String name, Kvm kvm, LinuxSnapshot snapshot, Identity identity) {
        return restore(name, kvm, snapshot, identity, true);
    }

    private static LinuxVm restore(String name, Kvm kvm, LinuxSnapshot snapshot, Identity identity, boolean paused) {
        // No network: a snapshot holds the vsock only (snapshot() refuses a VM with a NIC).
        LinuxVm vm = new LinuxVm(name, VmShell.withMemory(kvm, true, snapshot.mapPrivate()), snapshot.vcpuCount(), null);
        try {
            LinuxSnapshots.load(snapshot, vm.shell.vm(), vm.vcpus, vm.serial, vm.devices, vm.memory, identity);
            vm.layout = snapshot.layout();
            vm.paused = paused;
            vm.vcpus.start("vcpu-linux-" + name, paused);
            return vm;
        } catch (RuntimeException e) {
            vm.close();
            throw e;
        }
    }

    /**
     * Boots the kernel in {@code bzImage} through the x86 64-bit boot protocol instead of PVH: the
     * protected-mode kernel at pref_address, a zero page at {@link LinuxLayout#ZERO_PAGE}, the vCPU
     * in long mode at startup_64 (LongModeBoot). The kernel's own decompressor then runs in the
     * guest, which {@link #boot} skips: on a PVM host every instruction of it is emulated
     * (docs/design.md, "The 64-bit bzImage entry"), so PVH stays the default.
     */
    public static LinuxVm bootBzImage64(String name, Kvm kvm, byte[] bzImage, LinuxBootConfig config) {
        return owningTap(config, () -> bootBzImage64OwningTap(name, kvm, bzImage, config));
    }

    private static LinuxVm bootBzImage64OwningTap(String name, Kvm kvm, byte[] bzImage, LinuxBootConfig config) {
        byte[] cmd = checkShape(config);
        long memoryBytes = (long) config.memoryMiB() << 20;
        long ramTop = Math.min(memoryBytes, GuestLayout.MMIO_BASE);
        BzImage image = BzImage.parse(bzImage);
        long load = image.loadAddress(ramTop);
        byte[] initramfs = config.initramfs();
        // Placed before any resource exists, so an initramfs that does not fit costs nothing; below
        // the kernel's initrd_addr_max too, which PVH does not have.
        long initrd = initramfs == null ? 0
                : InitrdPlacement.place(initramfs.length, image.end(load), Math.min(ramTop, image.initrdAddrMax() + 1));
        LinuxVm vm = create(name, kvm, config, memoryBytes);
        try {
            E820Map e820 = E820Map.forGuest(memoryBytes, GuestLayout.MMIO_BASE, LinuxLayout.LOW_RAM_END);
            AcpiLayout acpi = AcpiTables.build(config.vcpus(), vm.devices.slots(), LinuxLayout.ACPI);
            byte[] zeroPage = BootParams.build(image, new BootParams.Settings(e820, LinuxLayout.CMDLINE, cmd.length - 1, initrd,
                    initramfs == null ? 0 : initramfs.length, acpi.rsdpAddress()));
            image.load(vm.memory, bzImage, ramTop); // at loadAddress(ramTop), the load above
            vm.writeBootInputs(config, acpi, cmd, initrd);
            vm.memory.write(LinuxLayout.ZERO_PAGE, zeroPage, 0, zeroPage.length);
            LongModeBoot.writeGdt(vm.memory);
            LongModeBoot.writePageTables(vm.memory);
            vm.setCpuid(kvm);
            LongModeBoot.setRegisters(vm.vcpus.fd(0), image.entry64(load), LinuxLayout.ZERO_PAGE); // the APs wait for SIPI
            vm.layout = new LinuxBootLayout(e820, acpi, image.entry64(load), image.end(load),
                    cmdlineText(cmd), LinuxLayout.IDENTITY_PAGE,
                    initrd, initramfs == null ? 0 : initramfs.length);
            vm.vcpus.start("vcpu-linux-" + name);
            return vm;
        } catch (RuntimeException e) {
            vm.close();
            throw e;
        }
    }

    /**
     * Stops every vCPU out of the guest with its pending I/O completed (APs waiting for their SIPI
     * included) and keeps them stopped until {@link #resume()}. The devices' host side still runs.
     */
    public synchronized void pause() {
        requireRunning("pause");
        vcpus.pause();
        paused = true;
    }

    public synchronized void resume() {
        requireRunning("resume");
        vcpus.resume();
        paused = false;
    }

    public synchronized boolean paused() {
        return paused;
    }

    /** The test guest's states: STOPPED once a vCPU exited or the VM was closed, else PAUSED or RUNNING. */
    @Override
    public synchronized MicroVm.State state() {
        if (closed.get() || vcpus.stopping() || stopped().isDone()) {
            return MicroVm.State.STOPPED;
        }
        return paused ? MicroVm.State.PAUSED : MicroVm.State.RUNNING;
    }

    /**
     * Hands every vCPU thread to {@code binding} (e.g. the sandbox's cgroup); for a VM restored
     * paused, before the guest runs an instruction. If a bind throws, the threads bound before stay
     * bound until they leave the VM (their unbind runs then).
     */
    @Override
    public void bindVcpuThreads(VcpuThreadBinding binding) {
        vcpus.bindThreads(binding);
    }

    /** A Linux snapshot holds no network device yet (see {@link #snapshot}); a booted VM's NIC has no counters here. */
    @Override
    public java.util.Optional<dev.hostd.vmm.device.net.NetStats> netStats() {
        return java.util.Optional.empty();
    }

    /**
     * Saves the guest into the empty directory {@code dir}: {@code state} (every vCPU, the irqchip,
     * PIT and clock, the console and vsock devices, the boot layout; guest kind "linux") and
     * {@code memory} (the RAM, all-zero pages left as holes). Pauses the VM if it runs and leaves it
     * paused: {@link #resume()} it, or close it. docs/snapshot-format.md.
     */
    public synchronized MicrovmState snapshot(Path dir) {
        return snapshot(dir, java.util.Map.of());
    }

    /**
     * As {@link #snapshot(Path)}, with {@code metadata} (e.g. a template's id and provenance) saved
     * beside the VMM's own {@code linux.*} keys, which it may not name.
     */
    public synchronized MicrovmState snapshot(Path dir, java.util.Map<String, String> metadata) {
        requireRunning("snapshot");
        if (devices.net() != null) { // its device state, TAP and MAC per clone are not in the format yet
            throw new VmmException(VmmException.Kind.INVALID_STATE, "snapshot Linux guest",
                    "VM " + name + " has a network device; Linux snapshots hold the vsock only (boot the Basepoint without withNetwork)");
        }
        if (!paused) {
            vcpus.pause();
            paused = true;
        }
        requireRunning("snapshot"); // a vCPU that failed while pausing has exited, with its state half-way
        return LinuxSnapshots.save(dir, shell.vm(), vcpus, serial, devices, shell.ram(), layout, metadata);
    }

    private void requireRunning(String operation) {
        if (vcpus.stopping() || stopped().isDone()) { // stopping: a vCPU has exited, the future may complete a moment later
            throw new VmmException(VmmException.Kind.INVALID_STATE, operation + " Linux guest",
                    "VM " + name + " has stopped" + (stopped().isDone()
                            ? ": " + stopped().handle((r, e) -> e != null ? e.getMessage() : r).join() : ""));
        }
    }

    /** The command line as text, without the NUL the kernel reads it with. */
    private static String cmdlineText(byte[] cmd) {
        return new String(cmd, 0, cmd.length - 1, java.nio.charset.StandardCharsets.US_ASCII);
    }

    /**
     * Checks what can be checked before any work; returns the command line as the kernel reads it,
     * with the identity page's address appended.
     */
    private static byte[] checkShape(LinuxBootConfig config) {
        int vcpus = config.vcpus();
        int memoryMiB = config.memoryMiB();
        if (vcpus < 1 || vcpus > MAX_VCPUS) {
            throw invalid("a Linux guest has 1.." + MAX_VCPUS + " vCPUs, asked for " + vcpus);
        }
        if (memoryMiB < MIN_MEMORY_MIB || ((long) memoryMiB << 20) > GuestLayout.MMIO_BASE) {
            throw invalid("a Linux guest needs " + MIN_MEMORY_MIB + ".." + (GuestLayout.MMIO_BASE >> 20)
                    + " MiB of RAM (RAM above the MMIO hole is not wired), asked for " + memoryMiB);
        }
        if (config.cmdline() == null) {
            throw invalid("no command line (give an empty one for none)");
        }
        if (config.initramfs() != null && config.initramfs().length == 0) {
            throw invalid("the initramfs is empty (give none instead)");
        }
        byte[] cmd = BootParams.commandLine(IdentityArgument.append(config.cmdline(), LinuxLayout.IDENTITY_PAGE));
        if (cmd.length > LinuxLayout.CMDLINE_MAX) {
            throw invalid("the command line with " + IdentityArgument.format(LinuxLayout.IDENTITY_PAGE) + " appended is "
                    + (cmd.length - 1) + " bytes, at most " + (LinuxLayout.CMDLINE_MAX - 1));
        }
        return cmd;
    }

    public String name() {
        return name;
    }

    /** What the guest was given: e820 map, ACPI tables, entry, command line, initramfs, identity page. */
    public LinuxBootLayout layout() {
        return layout;
    }

    /** The guest's RAM, to rewrite the identity page (IdentityPage.write at {@code layout().identityPage()}). */
    public GuestMemory memory() {
        return memory;
    }

    /** Linux thread ids of the VM's vCPU threads still running, in vCPU order; empty once the VM stopped. */
    public int[] vcpuThreadIds() {
        return vcpus.threadIds();
    }

    public ConsoleLog console() {
        return serial.log();
    }

    /** The virtio devices, for tests of this package. */
    LinuxDevices devices() {
        return devices;
    }

    /**
     * RAM this VM holds of its own: for a clone, the pages it wrote (copied from the snapshot's
     * memory file). A booted VM's RAM is a shared memfd, whose pages count as the file's: 0 there.
     * One pagemap pass.
     */
    public long privateMemoryBytes() {
        return shell.ram().privatePageCount() * 4096; // pagemap entries are per 4 KiB page
    }

    /** The host side of the agent channel (vsock port {@value AgentEndpoint#AGENT_PORT}), as for the test guest. */
    public AgentEndpoint agent() {
        return devices.agent();
    }

    /**
     * Completes once every vCPU thread has stopped: with why (the guest rebooted, powered off or
     * triple-faulted, or the VM was closed), or exceptionally, naming the vCPU, if one failed (an
     * instruction KVM cannot emulate, say). The memory and fds stay until {@link #close()}.
     */
    public CompletableFuture<StopReason> stopped() {
        return vcpus.stopped();
    }

    /** The VM fd, for tests that read the in-kernel irqchip. */
    dev.hostd.vmm.kvm.VmFd vmFdForTest() {
        return shell.vm();
    }

    /** A triple fault resets a PC: the VM stops with {@link StopReason#TRIPLE_FAULT} rather than failing. */
    @Override
    public boolean tripleFault(int vcpuIndex) {
        vcpus.stopWith(StopReason.TRIPLE_FAULT);
        return true;
    }

    /** A Linux guest's port I/O all goes to devices; nothing parks or panics the vCPU. */
    @Override
    public boolean paravirtualPorts() {
        return false;
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
        return false;
    }

    @Override
    public String consoleTail() {
        return serial.log().tail(10);
    }

    /**
     * Stops the vCPUs and releases them, the devices, the VM and the RAM. Idempotent. Called from
     * the devices' service thread (an agent callback, which runs there holding the device lock a
     * vCPU may be waiting for), the work is handed to a new thread and this returns at once.
     */
    @Override
    public void close() {
        if (devices.onServiceThread()) {
            Thread.ofVirtual().name("close-" + name).start(this::close);
            return;
        }
        closeNow();
    }

    private synchronized void closeNow() { // synchronized: not while a snapshot reads the RAM
        if (!closed.compareAndSet(false, true)) {
            return; // a second close would kick vCPUs whose kvm_run mapping is gone
        }
        vcpus.close();
        devices.close();
        closeShell();
    }

    private void closeShell() {
        closeQuietly(shell.vcpu());
        closeQuietly(shell.vm());
        shell.ram().close();
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception ignored) {
            // best effort during teardown; the first error is what the caller sees
        }
    }

    private static VmmException invalid(String message) {
        return new VmmException(VmmException.Kind.INVALID_INPUT, "boot Linux guest", message);
    }
}
