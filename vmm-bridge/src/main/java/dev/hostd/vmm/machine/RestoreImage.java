package dev.hostd.vmm.machine;

import dev.hostd.vmm.VmmException;
import dev.hostd.vmm.kvm.VcpuFd;
import dev.hostd.vmm.snapshot.MicrovmState;

/**
 * A saved test-guest VM state made ready for many restores: its one vCPU's kernel structs copied
 * once into native memory ({@link VcpuRestore}), so a clone issues the ioctls and copies nothing.
 * Shared by all clones of a template.
 */
public final class RestoreImage {
    private final MicrovmState state;
    private final VcpuRestore vcpu;

    private RestoreImage(MicrovmState state) {
        if (state.vcpus().size() != 1) {
            throw new VmmException(VmmException.Kind.INVALID_INPUT, "restore", "this VMM restores 1 vCPU, the snapshot has " + state.vcpus().size());
        }
        this.state = state;
        this.vcpu = new VcpuRestore(state.vcpus().getFirst());
    }

    public static RestoreImage prepare(MicrovmState state) {
        return new RestoreImage(state);
    }

    public MicrovmState state() {
        return state;
    }

    /** See {@link VcpuRestore#restore}. */
    void restoreVcpu(VcpuFd fd) {
        vcpu.restore(fd);
    }
}
