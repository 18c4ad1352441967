package dev.hostd.vmm.machine;

import dev.hostd.vmm.VmmException;
import dev.hostd.vmm.internal.linux.Errno;
import dev.hostd.vmm.internal.linux.kvm_h;
import dev.hostd.vmm.internal.linux.kvm_run;
import dev.hostd.vmm.internal.linux.kvm_run_fail_entry;
import dev.hostd.vmm.internal.linux.kvm_run_internal;
import dev.hostd.vmm.internal.linux.kvm_run_io;
import dev.hostd.vmm.internal.linux.kvm_run_mmio;
import dev.hostd.vmm.kvm.VcpuFd;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

/**
 * One vCPU: a platform thread that sits in KVM_RUN and handles exits. Pause and stop requests are
 * checked under the monitor before every KVM_RUN; a kick (immediate_exit plus a signal, and an
 * unpark for a vCPU parked on the wait port) makes the thread see them promptly.
 */
final class Vcpu implements Runnable {
    private static final long IO_OFFSET = kvm_run.LAYOUT.byteOffset(java.lang.foreign.MemoryLayout.PathElement.groupElement("anon_exit"));

    private final VcpuFd fd;
    private final MemorySegment run;
    private final ExitContext vm;
    private final Consumer<VmmException> onFailure;
    private final Runnable onExit;
    private volatile Thread thread;
    private long pthread;
    /** Linux thread id of the thread serving this vCPU while it runs; 0 before start and after exit. */
    private int tid;
    private VcpuThreadBinding binding;
    private boolean started, exited, parked, pauseRequested, stopRequested;
    /** Whether KVM_RUN entered the guest since I/O was last completed: a fresh or restored vCPU has nothing pending. */
    private boolean ranSinceComplete;
    /** True while the guest is parked on the wait port with nothing delivered to it. */
    private volatile boolean idle;

    Vcpu(VcpuFd fd, ExitContext vm, Consumer<VmmException> onFailure) {
        this(fd, vm, onFailure, () -> {});
    }

    /** As above; {@code onExit} runs on the vCPU thread once it has left the run loop for good (after {@code onFailure}). */
    Vcpu(VcpuFd fd, ExitContext vm, Consumer<VmmException> onFailure, Runnable onExit) {
        this.fd = fd;
        this.run = fd.runStruct();
        this.vm = vm;
        this.onFailure = onFailure;
        this.onExit = onExit;
    }

    VcpuFd fd() {
        return fd;
    }

    /** Starts the vCPU on a pooled thread; if {@code paused}, it parks before entering the guest. */
    synchronized void start(String name, boolean paused) {
        pauseRequested = paused;
        VcpuThreads.SHARED.start(() -> {
            Thread.currentThread().setName(name);
            run();
        });
        while (!started && !exited) {
            waitUninterruptibly();
        }
    }

    /** Wakes the thread if it is parked on the wait port. Any thread. */
    void wake() {
        Thread t = thread;
        if (t != null) {
            LockSupport.unpark(t);
        }
    }

    /** Returns once the vCPU is out of the guest with its pending I/O completed (or has exited). */
    synchronized void pause() {
        pauseRequested = true;
        kick();
        while (!parked && !exited) {
            waitUninterruptibly();
        }
    }

    synchronized void resume() {
        pauseRequested = false;
        notifyAll();
    }

    /** Asks the thread to leave the run loop and returns at once; any thread, the vCPU's own included. */
    synchronized void requestStop() {
        stopRequested = true;
        kick();
        notifyAll();
    }

    /** Stops the thread and waits for it. The fd stays open for the owner to close. */
    void stop() {
        requestStop();
        synchronized (this) {
            while (started && !exited && thread != Thread.currentThread()) {
                waitUninterruptibly();
            }
        }
    }

    /**
     * Binds the thread now serving this vCPU: {@code bind} runs under this vCPU's monitor, which
     * the thread needs before it can exit, so the thread cannot leave before the binding is in
     * place; {@code unbind} then runs on the thread before it goes back to the pool.
     */
    synchronized void bindThread(VcpuThreadBinding b) {
        if (!started || exited) {
            throw new VmmException(VmmException.Kind.INVALID_STATE, "bind vCPU thread", "vCPU " + fd.index() + " has no thread: it is not running");
        }
        if (binding != null) {
            throw new VmmException(VmmException.Kind.INVALID_STATE, "bind vCPU thread", "vCPU " + fd.index() + " is bound already");
        }
        b.bind(tid);
        binding = b;
    }

    synchronized int threadId() {
        return started && !exited ? tid : 0;
    }

    private void unbindQuietly() {
        VcpuThreadBinding b = binding;
        binding = null;
        if (b != null) {
            try {
                b.unbind(tid);
            } catch (RuntimeException e) {
                System.getLogger(Vcpu.class.getName()).log(System.Logger.Level.WARNING, "unbinding vCPU thread " + tid + " failed", e);
            }
        }
    }

    private void kick() {
        kvm_run.immediate_exit(run, (byte) 1);
        wake();
        if (started && !exited) {
            VcpuKick.send(pthread);
        }
    }

    @Override
    public void run() {
        VcpuKick kick = null;
        try {
            kick = VcpuKick.forCurrentThread(fd);
            synchronized (this) {
                thread = Thread.currentThread();
                pthread = kick.pthread();
                tid = kick.tid();
                started = true;
                notifyAll();
            }
            loop(kick);
        } catch (VmmException e) {
            onFailure.accept(e);
        } catch (RuntimeException | Error e) {
            onFailure.accept(new VmmException(VmmException.Kind.INTERNAL, "vCPU " + fd.index(), "vCPU thread failed: " + e, e));
        } finally {
            synchronized (this) {
                unbindQuietly();
                exited = true;
                thread = null;
                tid = 0;
                notifyAll();
            }
            if (kick != null) {
                kick.consumePending(); // the pooled thread's next vCPU starts without a stale kick
            }
            onExit.run();
        }
    }

    private void loop(VcpuKick kick) {
        while (true) {
            synchronized (this) {
                if (pauseRequested && !stopRequested) {
                    if (ranSinceComplete) {
                        completePendingIo(kick);
                        ranSinceComplete = false;
                    }
                    parked = true;
                    notifyAll();
                    while (pauseRequested && !stopRequested) {
                        waitUninterruptibly();
                    }
                    parked = false;
                }
                if (stopRequested) {
                    return;
                }
            }
            ranSinceComplete = true;
            int result = fd.run();
            if (result == -Errno.EAGAIN) {
                continue; // an AP left wait-for-SIPI (an INIT arrived): KVM wants KVM_RUN again, as QEMU does
            }
            if (result < 0) {
                if (result != -Errno.EINTR) {
                    throw VmmException.fromErrno("KVM_RUN", -result);
                }
                kvm_run.immediate_exit(run, (byte) 0);
                kick.consumePending();
                continue;
            }
            handleExit();
        }
    }

    /**
     * KVM finishes an I/O instruction only on the next KVM_RUN; entering with immediate_exit set
     * completes it without running guest code, so saved registers are consistent.
     */
    private void completePendingIo(VcpuKick kick) {
        kvm_run.immediate_exit(run, (byte) 1);
        int result = fd.run();
        kvm_run.immediate_exit(run, (byte) 0);
        kick.consumePending();
        if (result < 0 && result != -Errno.EINTR) {
            throw VmmException.fromErrno("KVM_RUN (completing I/O before pause)", -result);
        }
    }

    private void handleExit() {
        int reason = kvm_run.exit_reason(run);
        switch (reason) {
            case kvm_h.KVM_EXIT_IO -> handleIo(run.asSlice(IO_OFFSET, kvm_run_io.sizeof()));
            case kvm_h.KVM_EXIT_MMIO -> handleMmio(run.asSlice(IO_OFFSET, kvm_run_mmio.sizeof()));
            case kvm_h.KVM_EXIT_SHUTDOWN -> {
                if (!vm.tripleFault(fd.index())) {
                    throw guestFailure("guest crashed: triple fault (KVM_EXIT_SHUTDOWN)");
                }
            }
            case kvm_h.KVM_EXIT_HLT -> throw guestFailure("guest halted (KVM_EXIT_HLT)");
            case kvm_h.KVM_EXIT_FAIL_ENTRY -> throw guestFailure(String.format("KVM could not enter the guest: hardware reason %#x",
                    kvm_run_fail_entry.hardware_entry_failure_reason(run.asSlice(IO_OFFSET, kvm_run_fail_entry.sizeof()))));
            case kvm_h.KVM_EXIT_INTERNAL_ERROR -> throw guestFailure("KVM internal error, suberror "
                    + kvm_run_internal.suberror(run.asSlice(IO_OFFSET, kvm_run_internal.sizeof())) + " (an instruction KVM cannot emulate?)");
            case kvm_h.KVM_EXIT_INTR -> { } // a kick that raced with an exit; the loop re-checks
            default -> throw guestFailure("unexpected KVM exit reason " + reason);
        }
    }

    private void handleIo(MemorySegment io) {
        int port = Short.toUnsignedInt(kvm_run_io.port(io));
        int size = kvm_run_io.size(io);
        boolean out = kvm_run_io.direction(io) == kvm_h.KVM_EXIT_IO_OUT;
        MemorySegment data = run.asSlice(kvm_run_io.data_offset(io), (long) size * kvm_run_io.count(io));
        if (out && vm.paravirtualPorts() && handleParavirtual(port, data, size)) {
            return;
        }
        for (int i = 0; i < kvm_run_io.count(io); i++) {
            if (out) {
                vm.pio().write(port, size, readData(data, i, size));
            } else {
                writeData(data, i, size, vm.pio().read(port, size));
            }
        }
    }

    /** The wait and panic ports of guest-abi.md; false for any other port. */
    private boolean handleParavirtual(int port, MemorySegment data, int size) {
        if (port == ExitContext.WAIT_PORT) {
            waitForWork(0);
            return true;
        }
        if (port == ExitContext.WAIT_TIMED_PORT) {
            long micros = Integer.toUnsignedLong(readData(data, 0, size));
            waitForWork(System.nanoTime() + Math.max(1, micros) * 1000);
            return true;
        }
        if (port == ExitContext.PANIC_PORT) {
            throw guestFailure("guest panicked with code " + readData(data, 0, size));
        }
        return false;
    }

    private void handleMmio(MemorySegment mmio) {
        long address = kvm_run_mmio.phys_addr(mmio);
        int length = kvm_run_mmio.len(mmio);
        MemorySegment data = kvm_run_mmio.data(mmio);
        if (length < 1 || length > 8) {
            throw guestFailure("MMIO access of " + length + " bytes at " + Long.toHexString(address));
        }
        if (kvm_run_mmio.is_write(mmio) != 0) {
            long value = 0;
            for (int i = length - 1; i >= 0; i--) {
                value = (value << 8) | (data.get(ValueLayout.JAVA_BYTE, i) & 0xFFL);
            }
            vm.mmio().write(address, length, value);
        } else {
            long value = vm.mmio().read(address, length);
            for (int i = 0; i < length; i++) {
                data.set(ValueLayout.JAVA_BYTE, i, (byte) (value >>> (8 * i)));
            }
        }
    }

    /**
     * The guest parked on a wait port: sleep until a device has something for it, we are asked to
     * stop, or (if {@code deadline} is not 0) {@link System#nanoTime()} passes {@code deadline}.
     */
    private void waitForWork(long deadline) {
        while (true) {
            if (vm.serviceDevices()) {
                return;
            }
            synchronized (this) {
                if (pauseRequested || stopRequested) {
                    return;
                }
            }
            if (deadline == 0) {
                idle = true;
                LockSupport.park(this);
                idle = false;
            } else {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return;
                }
                LockSupport.parkNanos(this, left); // not idle: the guest has a timer running
            }
        }
    }

    boolean idle() {
        return idle;
    }

    private static int readData(MemorySegment data, int index, int size) {
        long at = (long) index * size;
        return switch (size) {
            case 1 -> data.get(ValueLayout.JAVA_BYTE, at) & 0xFF;
            case 2 -> data.get(ValueLayout.JAVA_SHORT_UNALIGNED, at) & 0xFFFF;
            default -> data.get(ValueLayout.JAVA_INT_UNALIGNED, at);
        };
    }

    private static void writeData(MemorySegment data, int index, int size, int value) {
        long at = (long) index * size;
        switch (size) {
            case 1 -> data.set(ValueLayout.JAVA_BYTE, at, (byte) value);
            case 2 -> data.set(ValueLayout.JAVA_SHORT_UNALIGNED, at, (short) value);
            default -> data.set(ValueLayout.JAVA_INT_UNALIGNED, at, value);
        }
    }

    private VmmException guestFailure(String what) {
        String tail = vm.consoleTail();
        return new VmmException(VmmException.Kind.GUEST_FAILURE, "vCPU " + fd.index(),
                what + (tail.isEmpty() ? "; the console is empty" : "; console tail:\n" + tail));
    }

    /** Nobody interrupts vCPU threads; an interrupt of a caller waiting for a pause is not a reason to give up on it. */
    private void waitUninterruptibly() {
        try {
            wait();
        } catch (InterruptedException ignored) {
            // keep waiting: the state change we wait for is bounded by one exit
        }
    }
}
