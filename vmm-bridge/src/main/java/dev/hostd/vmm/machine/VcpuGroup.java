package dev.hostd.vmm.machine;

import dev.hostd.vmm.VmmException;
import dev.hostd.vmm.kvm.VcpuFd;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The vCPUs of a VM with more than one: vCPU 0 is the shell's, 1..n-1 are created here (KVM vCPU
 * id = index = APIC id, as the MADT lists them), each served by its own thread from
 * {@link VcpuThreads}. The first outcome wins (a guest stop reason, a failure on any vCPU, or
 * close); every vCPU is then asked to stop, and {@link #stopped()} completes once all their threads
 * have left the guest, so nothing of the VM runs any more when it does.
 */
final class VcpuGroup {
    private final List<Vcpu> vcpus = new ArrayList<>();
    /** The fds this group created and closes: every vCPU's but 0, which the shell's owner closes. */
    private final List<VcpuFd> created = new ArrayList<>();
    /** The CPUID each vCPU was given, for a snapshot. */
    private final List<byte[]> cpuids = new ArrayList<>();
    private final AtomicReference<Object> outcome = new AtomicReference<>();
    private final AtomicInteger running = new AtomicInteger();
    private final CompletableFuture<StopReason> stopped = new CompletableFuture<>();

    /** Creates vCPUs 1..count-1 in the shell's VM beside its vCPU 0; closes what it made if that fails. */
    VcpuGroup(VmShell shell, int count, ExitContext vm) {
        try {
            for (int i = 0; i < count; i++) {
                VcpuFd fd = i == 0 ? shell.vcpu() : shell.vm().createVcpu(i);
                if (i != 0) {
                    created.add(fd);
                }
                int index = i;
                vcpus.add(new Vcpu(fd, vm, e -> stopWith(failure(index, e)), this::exited));
                cpuids.add(null);
            }
        } catch (RuntimeException e) {
            closeFds();
            throw e;
        }
    }

    private VmmException failure(int index, VmmException e) {
        return new VmmException(e.kind(), "vCPU " + index, "vCPU " + index + " of " + vcpus.size() + ": " + e.getMessage(), e);
    }

    int size() {
        return vcpus.size();
    }

    VcpuFd fd(int index) {
        return vcpus.get(index).fd();
    }

    /** Starts every vCPU's thread; the caller has set the registers of those that run at once. */
    void start(String namePrefix) {
        start(namePrefix, false);
    }

    /** Starts every vCPU's thread, parked before its first KVM_RUN if {@code paused} (a restore, until {@link #resume()}). */
    void start(String namePrefix, boolean paused) {
        running.set(vcpus.size());
        for (int i = 0; i < vcpus.size(); i++) {
            vcpus.get(i).start(namePrefix + "-" + i, paused);
        }
    }

    /** Sets vCPU {@code index}'s CPUID and keeps it for a snapshot: KVM cannot be asked for it back on every kernel. */
    void setCpuid(int index, byte[] entries) {
        vcpus.get(index).fd().setCpuid(entries);
        cpuids.set(index, entries.clone());
    }

    /** Records the CPUID a restore gave vCPU {@code index} (set by the restore itself). */
    void rememberCpuid(int index, byte[] entries) {
        cpuids.set(index, entries.clone());
    }

    /** The CPUID entries vCPU {@code index} was given, null if none were recorded. */
    byte[] cpuid(int index) {
        byte[] c = cpuids.get(index);
        return c == null ? null : c.clone();
    }

    /**
     * Returns once every vCPU is out of the guest with its pending I/O completed, APs waiting for
     * their SIPI included (the kick takes them out of KVM_RUN too), or has exited.
     */
    void pause() {
        for (Vcpu v : vcpus) {
            v.pause();
        }
    }

    void resume() {
        for (Vcpu v : vcpus) {
            v.resume();
        }
    }

    /**
     * Records {@code why} (a {@link StopReason} or a {@link VmmException}) unless an outcome is
     * recorded already, and asks every vCPU to stop. Returns at once: it may run on a vCPU thread.
     */
    void stopWith(Object why) {
        if (outcome.compareAndSet(null, why)) {
            for (Vcpu v : vcpus) {
                v.requestStop();
            }
        }
    }

    private void exited() {
        if (running.decrementAndGet() == 0) {
            finish();
        }
    }

    private void finish() {
        Object o = outcome.get();
        if (o instanceof VmmException e) {
            stopped.completeExceptionally(e);
        } else {
            stopped.complete(o == null ? StopReason.CLOSED : (StopReason) o);
        }
    }

    /** True once the VM's end is decided (a guest stop, a vCPU failure, close), maybe before every thread has left. */
    boolean stopping() {
        return outcome.get() != null;
    }

    /** Completes when every vCPU thread has stopped: with the reason, or exceptionally with the failing vCPU's error. */
    CompletableFuture<StopReason> stopped() {
        return stopped;
    }

    /** Linux thread ids of the vCPU threads still running, in vCPU order. */
    int[] threadIds() {
        return vcpus.stream().mapToInt(Vcpu::threadId).filter(tid -> tid != 0).toArray();
    }

    /** Hands each vCPU's thread to {@code binding}, in vCPU order; every vCPU must have started (paused or not). */
    void bindThreads(VcpuThreadBinding binding) {
        for (Vcpu v : vcpus) {
            v.bindThread(binding);
        }
    }

    /** Stops every vCPU, waits for their threads, closes the fds this group created. Idempotent. */
    void close() {
        stopWith(StopReason.CLOSED);
        for (Vcpu v : vcpus) {
            v.stop();
        }
        finish(); // also when the threads never started
        closeFds();
    }

    private void closeFds() {
        for (VcpuFd fd : created) {
            try {
                fd.close();
            } catch (RuntimeException ignored) {
                // best effort during teardown
            }
        }
    }
}
