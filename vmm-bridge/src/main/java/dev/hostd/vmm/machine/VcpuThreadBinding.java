package dev.hostd.vmm.machine;

/**
 * Lets an owner outside vmm-bridge follow a VM's vCPU threads by Linux thread id, e.g. to put them
 * in the sandbox's cgroup. vCPU threads are pooled: a thread serves one VM, then goes back to the
 * pool for the next, so it must leave the VM's cgroup before another VM can take it.
 * {@link #unbind} runs on the vCPU thread itself, after its last KVM_RUN for this VM and before
 * it returns to the pool, which is the only moment that is race-free.
 */
public interface VcpuThreadBinding {
    /** The VM's vCPU thread {@code tid} is running for it (paused or not). Called on the binding caller's thread. */
    void bind(int tid);

    /** On the vCPU thread {@code tid}: it is done with the VM. Must not throw; a failure is the binding's to report. */
    void unbind(int tid);
}
