package dev.hostd.vmm.machine;

import dev.hostd.vmm.internal.linux.Libc;
import dev.hostd.vmm.kvm.VcpuFd;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * How a vCPU running guest code is made to return from KVM_RUN promptly (the kick Firecracker
 * and QEMU use). A real-time signal is blocked in every vCPU thread and unblocked only inside
 * KVM_RUN (KVM_SET_SIGNAL_MASK): sent with pthread_kill, it interrupts the guest, KVM_RUN returns
 * EINTR, and the signal stays pending in the thread until consumed with sigtimedwait. No handler
 * ever runs in the JVM; the disposition is SIG_IGN as a second line of defence (KVM still sees a
 * blocked signal as pending).
 */
final class VcpuKick {
    static final int SIGNAL;
    /** Per pooled thread: its mask is set up once, its buffers live as long as the thread. */
    private static final ThreadLocal<VcpuKick> THREAD = new ThreadLocal<>();

    static {
        SIGNAL = Libc.sigrtmin() + 4;
        Libc.ignoreSignal(SIGNAL);
    }

    private final MemorySegment threadMask;
    private final MemorySegment sigset;
    private final MemorySegment zeroTimeout;
    private final long pthread;
    private final int tid;

    private VcpuKick() {
        Arena arena = Arena.ofAuto();
        this.threadMask = Libc.blockSignal(SIGNAL, arena);
        this.sigset = Libc.sigset(arena, SIGNAL, Libc.SIGSET_BYTES);
        this.zeroTimeout = arena.allocate(16, 8);
        this.pthread = Libc.pthreadSelf();
        this.tid = Libc.gettid();
    }

    /** On the vCPU thread, before its first KVM_RUN: blocks the signal here, unblocks it inside KVM_RUN of {@code vcpu}. */
    static VcpuKick forCurrentThread(VcpuFd vcpu) {
        VcpuKick kick = THREAD.get();
        if (kick == null) {
            kick = new VcpuKick();
            THREAD.set(kick);
        }
        vcpu.setRunSignalMaskUnblocking(SIGNAL, kick.threadMask);
        return kick;
    }

    long pthread() {
        return pthread;
    }

    /** The thread's Linux thread id, read once per pooled thread. */
    int tid() {
        return tid;
    }

    /** Drops a pending kick so the next KVM_RUN enters the guest. On the vCPU thread. */
    void consumePending() {
        Libc.consumePendingSignal(sigset, zeroTimeout);
    }

    static void send(long pthread) {
        Libc.pthreadKill(pthread, SIGNAL);
    }
}
