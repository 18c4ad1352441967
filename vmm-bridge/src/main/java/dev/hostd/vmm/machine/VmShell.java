package dev.hostd.vmm.machine;

import dev.hostd.vmm.VmmException;
import dev.hostd.vmm.kvm.Kvm;
import dev.hostd.vmm.kvm.VcpuFd;
import dev.hostd.vmm.kvm.VmFd;
import dev.hostd.vmm.memory.MemoryMapping;

/**
 * A KVM VM with its one vCPU and, once attached, its guest RAM in memory slot 0, but no state
 * yet. Making one is the part of a clone whose cost grows with the process, not with the guest:
 * KVM_CREATE_VM registers an MMU notifier, which locks every mapping of the process, and a memory
 * slot change waits for an SRCU grace period. {@link VmShells} makes them ahead of time.
 */
public final class VmShell implements AutoCloseable {
    /** Three pages KVM needs for the real-mode TSS on Intel, placed below 4 GiB and out of RAM's way. */
    private static final long TSS_ADDRESS = 0xFFFB_D000L;

    private final VmFd vm;
    private final VcpuFd vcpu;
    private MemoryMapping ram;
    private boolean taken;

    private final boolean irqchip;

    private VmShell(VmFd vm, VcpuFd vcpu, boolean irqchip) {
        this.vm = vm;
        this.vcpu = vcpu;
        this.irqchip = irqchip;
    }

    boolean irqchip() {
        return irqchip;
    }

    /** @param irqchip whether KVM emulates the PIC, IOAPIC, LAPIC and PIT (created before the vCPU, as KVM requires) */
    public static VmShell create(Kvm kvm, boolean irqchip) {
        VmFd vm = kvm.createVm();
        try {
            if (irqchip) {
                vm.setTssAddress(TSS_ADDRESS);
                vm.createIrqchipAndPit();
            }
            return new VmShell(vm, vm.createVcpu(0), irqchip);
        } catch (VmmException e) {
            vm.close();
            throw e;
        }
    }

    /** A shell with {@code ram} as its memory; owns ram from the call on, and closes it if this fails. */
    public static VmShell withMemory(Kvm kvm, boolean irqchip, MemoryMapping ram) {
        VmShell shell;
        try {
            shell = create(kvm, irqchip);
        } catch (RuntimeException e) {
            ram.close();
            throw e;
        }
        try {
            shell.attach(ram);
            return shell;
        } catch (RuntimeException e) {
            shell.close();
            throw e;
        }
    }

    private synchronized void attach(MemoryMapping mapping) {
        this.ram = mapping;
        vm.setUserMemoryRegion(0, 0, mapping.segment());
    }

    /** The guest RAM mapping; valid until the shell or the VM made from it closes. */
    public synchronized MemoryMapping ram() {
        return ram;
    }

    VmFd vm() {
        return vm;
    }

    VcpuFd vcpu() {
        return vcpu;
    }

    /** Hands the fds and the mapping to a MicroVm, which closes them from then on. */
    synchronized void take() {
        if (taken) {
            throw new IllegalStateException("VM shell already used");
        }
        taken = true;
    }

    /** Closes the fds and the mapping unless a MicroVm took them. */
    @Override
    public synchronized void close() {
        if (!taken) {
            taken = true;
            vcpu.close();
            vm.close();
            if (ram != null) {
                ram.close();
            }
        }
    }
}
