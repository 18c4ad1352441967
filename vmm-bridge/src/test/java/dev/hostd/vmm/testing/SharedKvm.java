package dev.hostd.vmm.testing;

import dev.hostd.vmm.kvm.Kvm;

/**
 * One /dev/kvm handle for every test class of this JVM that only creates VMs from it: opened on
 * first use, closed by the process's exit (the fd holds nothing else). Tests that check what
 * closing a VM or the handle releases open their own.
 */
public final class SharedKvm {
    private SharedKvm() {}

    private static final class Holder {
        static final Kvm KVM = Kvm.open();
    }

    public static Kvm get() {
        return Holder.KVM;
    }
}
