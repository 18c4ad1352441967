package dev.hostd.template;

import dev.hostd.vmm.agent.IdentityReport;
import dev.hostd.vmm.agent.InvokeResult;
import dev.hostd.vmm.device.net.NetStats;
import dev.hostd.vmm.device.serial.ConsoleLog;
import dev.hostd.vmm.identity.Identity;
import dev.hostd.vmm.machine.GuestVm;
import dev.hostd.vmm.machine.MicroVm;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

/** A live clone: its VM (a test guest's or a Linux guest's, through {@link GuestVm}), the identity it was given and the identity its agent reported back. */
public final class Sandbox implements AutoCloseable {
    private final GuestVm vm;
    private final String templateId;
    private final Identity identity;
    private final IdentityReport report;
    private final Runnable onClose;
    private final AtomicBoolean closed = new AtomicBoolean();

    Sandbox(GuestVm vm, String templateId, Identity identity, IdentityReport report, Runnable onClose) {
        this.vm = vm;
        this.templateId = templateId;
        this.identity = identity;
        this.report = report;
        this.onClose = onClose;
    }

    public String id() {
        return identity.sandboxId();
    }

    public String templateId() {
        return templateId;
    }

    public Identity identity() {
        return identity;
    }

    /** What the guest agent said when it acknowledged its identity. */
    public IdentityReport report() {
        return report;
    }

    public ConsoleLog console() {
        return vm.console();
    }

    /** Counters of the sandbox's network device, if it has one. */
    public Optional<NetStats> netStats() {
        return vm.netStats();
    }

    public MicroVm.State state() {
        return vm.state();
    }

    /** Calls a function in the guest and waits for its result. */
    public InvokeResult invoke(String function, byte[] argument, Duration timeout) {
        CompletableFuture<InvokeResult> result = vm.agent().invoke(function, argument);
        try {
            // A VM that stops fails the result (its agent endpoint closes): no second future to wait on.
            return result.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new TemplateException(TemplateException.Kind.TIMEOUT, "sandbox " + id() + " did not answer '" + function
                    + "' within " + timeout.toMillis() + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TemplateException(TemplateException.Kind.INTERNAL, "interrupted while invoking '" + function + "'");
        } catch (ExecutionException e) {
            Throwable cause = vm.stopped().isCompletedExceptionally() ? vm.stopped().exceptionNow() : e.getCause();
            throw Errors.wrap("invoking '" + function + "' in sandbox " + id() + " failed", cause);
        }
    }

    /** Linux thread ids of the sandbox's vCPU threads; the same across pause and resume. */
    public int[] vcpuThreadIds() {
        return vm.vcpuThreadIds();
    }

    /**
     * Host memory that is this sandbox's own: the guest-RAM pages it (or the VMM, for its identity)
     * wrote, which are private copies; pages it only read are the template's, shared by every clone.
     */
    public long privateMemoryBytes() {
        return vm.privateMemoryBytes();
    }

    public void pause() {
        vm.pause();
    }

    public void resume() {
        vm.resume();
    }

    /** Completes when the sandbox's VM stops; exceptionally if the guest failed. */
    public CompletableFuture<?> stopped() {
        return vm.stopped();
    }

    /** Stops the VM and releases every fd, mapping and thread, and the identity. Idempotent. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            try {
                vm.close();
            } finally {
                onClose.run();
            }
        }
    }
}
