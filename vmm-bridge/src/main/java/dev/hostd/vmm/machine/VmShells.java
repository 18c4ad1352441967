package dev.hostd.vmm.machine;

import dev.hostd.vmm.kvm.Kvm;
import dev.hostd.vmm.memory.MemoryMapping;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;

/**
 * A few {@link VmShell}s made ahead of time by a background thread, so a clone does not wait for
 * KVM_CREATE_VM and its memory slot. With {@code target} 0 every shell is made on the caller's
 * thread. The filler runs at a lower CPU priority ({@link BackgroundPriority}), so that on a busy
 * host it never takes a core from the clone that just took a shell. If the host cannot make a shell (out of memory or fds), the filler stops trying until
 * the next take, and the caller's own attempt reports the error.
 */
public final class VmShells implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(VmShells.class.getName());

    private final Supplier<VmShell> factory;
    private final int target;
    private final ConcurrentLinkedQueue<VmShell> ready = new ConcurrentLinkedQueue<>();
    private final AtomicInteger count = new AtomicInteger();
    private final Thread filler;
    private volatile boolean closed;

    /** Shells whose memory comes from {@code ram} (e.g. copy-on-write views of one template). */
    public VmShells(Kvm kvm, int target, boolean irqchip, Supplier<MemoryMapping> ram) {
        if (target < 0 || target > 256) {
            throw new IllegalArgumentException("VM shell pool size must be 0..256, got " + target);
        }
        this.factory = () -> VmShell.withMemory(kvm, irqchip, ram.get());
        this.target = target;
        this.filler = target == 0 ? null : Thread.ofPlatform().daemon(true).name("vm-shells").start(this::fill);
    }

    /** A ready shell, or a new one made now if none is ready. */
    public VmShell take() {
        VmShell shell = ready.poll();
        if (shell != null) {
            count.decrementAndGet();
            LockSupport.unpark(filler);
            return shell;
        }
        if (filler != null) {
            LockSupport.unpark(filler);
        }
        return factory.get();
    }

    /** Shells ready now. */
    public int readyCount() {
        return count.get();
    }

    private void fill() {
        BackgroundPriority.applyToCurrentThread();
        while (!closed) {
            if (count.get() < target) {
                try {
                    ready.add(factory.get());
                    count.incrementAndGet();
                    continue;
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.WARNING, "cannot pre-create a VM: {0}", e.getMessage());
                }
            }
            LockSupport.park(this);
        }
    }

    /** Stops the filler and closes every shell not taken. */
    @Override
    public void close() {
        closed = true;
        if (filler != null) {
            LockSupport.unpark(filler);
            try {
                filler.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        VmShell shell;
        while ((shell = ready.poll()) != null) {
            count.decrementAndGet();
            shell.close();
        }
    }
}
