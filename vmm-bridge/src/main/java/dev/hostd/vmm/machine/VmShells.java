package dev.hostd.vmm.machine;

import dev.hostd.vmm.kvm.Kvm;
import dev.hostd.vmm.memory.MemoryMapping;
import dev.hostd.vmm.pool.PoolFiller;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * A few {@link VmShell}s made ahead of time by a background thread, so a clone does not wait for
 * KVM_CREATE_VM and its memory slot. With {@code target} 0 every shell is made on the caller's
 * thread. The filler ({@link PoolFiller}) runs at a lower CPU priority, so that on a busy host it
 * yields the cores to the clone that just took a shell; if the host cannot make a shell (out of
 * memory or fds), it stops trying until the next take, and the caller's own attempt reports the error.
 */
public final class VmShells implements AutoCloseable {
    private final Supplier<VmShell> factory;
    private final int target;
    private final ConcurrentLinkedQueue<VmShell> ready = new ConcurrentLinkedQueue<>();
    private final AtomicInteger count = new AtomicInteger();
    private final PoolFiller filler;

    /** Shells whose memory comes from {@code ram} (e.g. copy-on-write views of one template). */
    public VmShells(Kvm kvm, int target, boolean irqchip, Supplier<MemoryMapping> ram) {
        if (target < 0 || target > 256) {
            throw new IllegalArgumentException("VM shell pool size must be 0..256, got " + target);
        }
        this.factory = () -> VmShell.withMemory(kvm, irqchip, ram.get());
        this.target = target;
        this.filler = target == 0 ? null : new PoolFiller("vm-shells", "a VM", () -> count.get() < target, () -> {
            ready.add(factory.get());
            count.incrementAndGet();
        });
    }

    /** A ready shell, or a new one made now if none is ready. */
    public VmShell take() {
        VmShell shell = poll();
        return shell != null ? shell : factory.get();
    }

    /** A ready shell, or null if none is ready (the filler is woken either way): never makes a VM on the caller's thread. */
    public VmShell poll() {
        VmShell shell = ready.poll();
        if (shell != null) {
            count.decrementAndGet();
        }
        if (filler != null) {
            filler.wake();
        }
        return shell;
    }

    /** Shells ready now. */
    public int readyCount() {
        return count.get();
    }

    /** Stops the filler and closes every shell not taken. */
    @Override
    public void close() {
        if (filler != null) {
            filler.close();
        }
        VmShell shell;
        while ((shell = ready.poll()) != null) {
            count.decrementAndGet();
            shell.close();
        }
    }
}
