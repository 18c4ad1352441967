package dev.hostd.vmm.snapshot;

import java.util.Arrays;
import java.util.Objects;

/**
 * VM-wide kernel state, each part the exact bytes of its {@code <linux/kvm.h>} struct (sizes in
 * {@link KvmAbi}). Arrays are copied in and out.
 *
 * @param clock     {@code struct kvm_clock_data} (48 bytes)
 * @param picMaster {@code struct kvm_irqchip} (520 bytes), or null when the VM has no in-kernel irqchip
 * @param picSlave  {@code struct kvm_irqchip} (520 bytes), or null likewise
 * @param ioapic    {@code struct kvm_irqchip} (520 bytes), or null likewise
 * @param pit2      {@code struct kvm_pit_state2} (112 bytes), or null likewise
 */
public record VmState(byte[] clock, byte[] picMaster, byte[] picSlave, byte[] ioapic, byte[] pit2) {
    public VmState {
        clock = Objects.requireNonNull(clock, "clock").clone();
        picMaster = copy(picMaster);
        picSlave = copy(picSlave);
        ioapic = copy(ioapic);
        pit2 = copy(pit2);
    }

    @Override public byte[] clock() { return clock.clone(); }
    @Override public byte[] picMaster() { return copy(picMaster); }
    @Override public byte[] picSlave() { return copy(picSlave); }
    @Override public byte[] ioapic() { return copy(ioapic); }
    @Override public byte[] pit2() { return copy(pit2); }

    static byte[] copy(byte[] bytes) {
        return bytes == null ? null : bytes.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof VmState v
                && Arrays.equals(clock, v.clock)
                && Arrays.equals(picMaster, v.picMaster)
                && Arrays.equals(picSlave, v.picSlave)
                && Arrays.equals(ioapic, v.ioapic)
                && Arrays.equals(pit2, v.pit2);
    }

    @Override
    public int hashCode() {
        return Arrays.deepHashCode(new Object[] {clock, picMaster, picSlave, ioapic, pit2});
    }

    @Override
    public String toString() {
        return "VmState[clock=" + len(clock) + ", picMaster=" + len(picMaster) + ", picSlave=" + len(picSlave)
                + ", ioapic=" + len(ioapic) + ", pit2=" + len(pit2) + "]";
    }

    static String len(byte[] bytes) {
        return bytes == null ? "null" : bytes.length + " bytes";
    }
}
