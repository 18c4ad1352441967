package dev.hostd.vmm.machine;

import dev.hostd.vmm.VmmException;
import dev.hostd.vmm.acpi.AcpiLayout;
import dev.hostd.vmm.acpi.AcpiTables;
import dev.hostd.vmm.agent.AgentEndpoint;
import dev.hostd.vmm.device.platform.AcpiSleepRegisters;
import dev.hostd.vmm.device.platform.I8042;
import dev.hostd.vmm.device.serial.ConsoleLog;
import dev.hostd.vmm.device.serial.Serial8250;
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
import java.security.SecureRandom;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A stock Linux kernel booted through PVH (issue 7, early boot): the vmlinux from a bzImage loaded
 * at its physical addresses, hvm_start_info with our e820 map, command line and RSDP, our ACPI
 * tables at 0xE0000, KVM's in-kernel irqchip and PIT, an 8250 at COM1 as the console, an optional
 * initramfs (the first PVH module) and the identity page at {@link LinuxLayout#IDENTITY_PAGE}, named
 * on the command line for the agent. Up to {@link #MAX_VCPUS} vCPUs: the BSP (vCPU 0) starts at the
 * PVH entry, the others wait in KVM for the kernel's INIT-SIPI-SIPI. The guest stops itself by a
 * reset through the i8042, an ACPI power-off or a triple fault ({@link StopReason}). The agent
 * channel is a virtio-mmio vsock in slot 0 that the DSDT describes ({@link LinuxDevices}: irqfd
 * interrupts, a service thread for host-side work). No snapshots yet. Starts running;
 * {@link #close()} releases everything.
 */
public final class LinuxVm implements AutoCloseable, ExitContext {
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

    private LinuxVm(String name, VmShell shell, int vcpuCount) {
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
            this.devices = LinuxDevices.attach(shell.vm(), memory, mmio, name);
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
        checkShape(config);
        return bootVmlinux(name, kvm, Vmlinux.extract(bzImage), config);
    }

    /** Boots a vmlinux ELF with a PVH note (what {@link #boot} extracts from a bzImage). */
    public static LinuxVm bootVmlinux(String name, Kvm kvm, byte[] elf, String cmdline, int memoryMiB, int vcpus) {
        return bootVmlinux(name, kvm, elf, LinuxBootConfig.of(cmdline, memoryMiB, vcpus));
    }

    /** Boots a vmlinux ELF with a PVH note with everything in {@code config}. */
    public static LinuxVm bootVmlinux(String name, Kvm kvm, byte[] elf, LinuxBootConfig config) {
        byte[] cmd = checkShape(config);
        String cmdline = new String(cmd, 0, cmd.length - 1, java.nio.charset.StandardCharsets.US_ASCII);
        long memoryBytes = (long) config.memoryMiB() << 20;
        PvhKernel kernel = PvhKernel.parse(elf);
        byte[] initramfs = config.initramfs();
        // Placed before any resource exists, so an initramfs that does not fit costs nothing.
        long initrd = initramfs == null ? 0
                : InitrdPlacement.place(initramfs.length, kernel.end(), Math.min(memoryBytes, GuestLayout.MMIO_BASE));
        MemoryMapping ram;
        try (MemoryFile file = MemoryFile.anonymous("linux-" + name, memoryBytes)) {
            ram = file.mapShared();
        }
        LinuxVm vm = new LinuxVm(name, VmShell.withMemory(kvm, true, ram), config.vcpus());
        try {
            kernel.load(vm.memory, elf);
            E820Map e820 = E820Map.forGuest(memoryBytes, GuestLayout.MMIO_BASE, LinuxLayout.LOW_RAM_END);
            AcpiLayout acpi = AcpiTables.build(config.vcpus(), vm.devices.slots(), LinuxLayout.ACPI);
            vm.memory.write(acpi.rsdpAddress(), acpi.image(), 0, acpi.image().length);
            vm.memory.write(LinuxLayout.CMDLINE, cmd, 0, cmd.length);
            byte[] memmap = PvhStartInfo.memmap(e820);
            vm.memory.write(LinuxLayout.MEMMAP, memmap, 0, memmap.length);
            List<PvhStartInfo.Module> modules = List.of();
            if (initramfs != null) {
                vm.memory.write(initrd, initramfs, 0, initramfs.length);
                modules = List.of(new PvhStartInfo.Module(initrd, initramfs.length, 0));
            }
            byte[] modlist = PvhStartInfo.modlist(modules);
            vm.memory.write(LinuxLayout.MODLIST, modlist, 0, modlist.length);
            byte[] startInfo = PvhStartInfo.build(LinuxLayout.CMDLINE, acpi.rsdpAddress(), LinuxLayout.MEMMAP, e820,
                    modules.isEmpty() ? 0 : LinuxLayout.MODLIST, modules.size());
            vm.memory.write(LinuxLayout.START_INFO, startInfo, 0, startInfo.length);
            if (config.identity() != null) {
                byte[] seed = new byte[IdentityPage.SEED_BYTES];
                new SecureRandom().nextBytes(seed);
                IdentityPage.write(vm.memory, LinuxLayout.IDENTITY_PAGE, config.identity(), 1, seed,
                        java.time.Instant.now().toEpochMilli() * 1_000_000L);
            }
            PvhBoot.writeGdt(vm.memory);
            byte[] supported = kvm.supportedCpuidEntries();
            for (int i = 0; i < vm.vcpus.size(); i++) {
                vm.vcpus.fd(i).setCpuid(LinuxCpuid.forGuest(supported, i)); // APIC ID = vCPU id, as KVM and the MADT have it
            }
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
     * Boots the kernel in {@code bzImage} through the x86 64-bit boot protocol instead of PVH: the
     * protected-mode kernel at pref_address, a zero page at {@link LinuxLayout#ZERO_PAGE}, the vCPU
     * in long mode at startup_64 (LongModeBoot). The kernel's own decompressor then runs in the
     * guest, which {@link #boot} skips: on a PVM host every instruction of it is emulated
     * (docs/design.md, "The 64-bit bzImage entry"), so PVH stays the default.
     */
    public static LinuxVm bootBzImage64(String name, Kvm kvm, byte[] bzImage, LinuxBootConfig config) {
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
        MemoryMapping ram;
        try (MemoryFile file = MemoryFile.anonymous("linux-" + name, memoryBytes)) {
            ram = file.mapShared();
        }
        LinuxVm vm = new LinuxVm(name, VmShell.withMemory(kvm, true, ram), config.vcpus());
        try {
            E820Map e820 = E820Map.forGuest(memoryBytes, GuestLayout.MMIO_BASE, LinuxLayout.LOW_RAM_END);
            AcpiLayout acpi = AcpiTables.build(config.vcpus(), vm.devices.slots(), LinuxLayout.ACPI);
            byte[] zeroPage = BootParams.build(image, new BootParams.Settings(e820, LinuxLayout.CMDLINE, cmd.length - 1, initrd,
                    initramfs == null ? 0 : initramfs.length, acpi.rsdpAddress()));
            image.load(vm.memory, bzImage, ramTop);
            vm.memory.write(acpi.rsdpAddress(), acpi.image(), 0, acpi.image().length);
            vm.memory.write(LinuxLayout.CMDLINE, cmd, 0, cmd.length);
            vm.memory.write(LinuxLayout.ZERO_PAGE, zeroPage, 0, zeroPage.length);
            if (initramfs != null) {
                vm.memory.write(initrd, initramfs, 0, initramfs.length);
            }
            if (config.identity() != null) {
                byte[] seed = new byte[IdentityPage.SEED_BYTES];
                new SecureRandom().nextBytes(seed);
                IdentityPage.write(vm.memory, LinuxLayout.IDENTITY_PAGE, config.identity(), 1, seed,
                        java.time.Instant.now().toEpochMilli() * 1_000_000L);
            }
            LongModeBoot.writeGdt(vm.memory);
            LongModeBoot.writePageTables(vm.memory);
            byte[] supported = kvm.supportedCpuidEntries();
            for (int i = 0; i < vm.vcpus.size(); i++) {
                vm.vcpus.fd(i).setCpuid(LinuxCpuid.forGuest(supported, i)); // APIC ID = vCPU id, as KVM and the MADT have it
            }
            LongModeBoot.setRegisters(vm.vcpus.fd(0), image.entry64(load), LinuxLayout.ZERO_PAGE); // the APs wait for SIPI
            vm.layout = new LinuxBootLayout(e820, acpi, image.entry64(load), image.end(load),
                    new String(cmd, 0, cmd.length - 1, java.nio.charset.StandardCharsets.US_ASCII), LinuxLayout.IDENTITY_PAGE,
                    initrd, initramfs == null ? 0 : initramfs.length);
            vm.vcpus.start("vcpu-linux-" + name);
            return vm;
        } catch (RuntimeException e) {
            vm.close();
            throw e;
        }
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

    /** Stops the vCPUs and releases them, the devices, the VM and the RAM. Idempotent. */
    @Override
    public void close() {
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
