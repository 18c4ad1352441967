package dev.hostd.vmm.machine;

import dev.hostd.vmm.internal.linux.kvm_h;
import dev.hostd.vmm.kvm.VmFd;
import dev.hostd.vmm.snapshot.VmState;

/** VM-wide kernel state: the guest clock, and with an in-kernel irqchip the PICs, IOAPIC and PIT. */
final class VmStates {
    private VmStates() {}

    static VmState capture(VmFd vm, boolean irqchip) {
        if (!irqchip) {
            return new VmState(vm.getClock(), null, null, null, null);
        }
        return new VmState(vm.getClock(), vm.getIrqchip(kvm_h.KVM_IRQCHIP_PIC_MASTER), vm.getIrqchip(kvm_h.KVM_IRQCHIP_PIC_SLAVE),
                vm.getIrqchip(kvm_h.KVM_IRQCHIP_IOAPIC), vm.getPit2());
    }

    static void restore(VmFd vm, VmState state) {
        if (state.picMaster() != null) {
            vm.setIrqchip(state.picMaster());
            vm.setIrqchip(state.picSlave());
            vm.setIrqchip(state.ioapic());
            vm.setPit2(state.pit2());
        }
        vm.setClock(state.clock());
    }
}
