package dev.hostd.vmm.testing;

import dev.hostd.vmm.kvm.VmFd;

/** The master 8259 of KVM's in-kernel irqchip, read through KVM_GET_IRQCHIP (test code). */
public final class PicState {
    static final int PIC_MASTER = 0;
    /** struct kvm_irqchip: chip_id, pad, then struct kvm_pic_state {last_irr, irr, imr, isr, ...}. */
    static final int PIC_IRR_BYTE = 8 + 1;

    private PicState() {}

    /** Whether ISA IRQ {@code irq} (0..7) has an edge latched that no CPU has taken yet. */
    public static boolean pending(VmFd vm, int irq) {
        return (vm.getIrqchip(PIC_MASTER)[PIC_IRR_BYTE] & (1 << irq)) != 0;
    }
}
