package dev.hostd.template;

import dev.hostd.vmm.agent.IdentityReport;
import dev.hostd.vmm.machine.GuestVm;
import dev.hostd.vmm.machine.MicroVm;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The reason to report when a guest stops (or its agent channel closes) before the agent said
 * hello. A VM that crashes or panics closes its agent channel first and completes
 * {@link GuestVm#stopped()} a moment later; "agent endpoint closed" would hide the real reason
 * (triple fault, panic code, console tail), so this waits for the VM's own failure and reports that.
 */
final class GuestStops {
    /** A stopping VM completes {@code stopped()} right after closing its agent; this only bounds a bug. */
    private static final long STOP_WAIT_SECONDS = 5;

    private GuestStops() {}

    /**
     * Waits for the agent's HELLO. A VM that stops fails the future (its agent endpoint closes), so
     * no second future is needed to notice a crash; the report then names the VM's own failure.
     */
    static IdentityReport awaitHello(GuestVm vm, CompletableFuture<IdentityReport> hello, Duration timeout, String who) {
        try {
            return hello.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new TemplateException(TemplateException.Kind.TIMEOUT, "the " + who + "'s agent did not say hello within "
                    + timeout.toMillis() + " ms; console tail:\n" + vm.console().tail(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TemplateException(TemplateException.Kind.INTERNAL, "interrupted while waiting for the " + who + "'s agent");
        } catch (ExecutionException e) {
            throw beforeHello(vm, "the " + who + " stopped before its agent said hello", e.getCause());
        }
    }

    static TemplateException beforeHello(GuestVm vm, String what, Throwable fallback) {
        Throwable vmFailure = failureOf(vm);
        if (vmFailure != null) {
            return Errors.wrap(what, vmFailure);
        }
        if (fallback != null) {
            TemplateException e = Errors.wrap(what, fallback);
            return new TemplateException(e.kind(), e.getMessage() + consoleTail(vm), e.getCause());
        }
        return new TemplateException(TemplateException.Kind.GUEST_FAILURE, what + consoleTail(vm));
    }

    private static Throwable failureOf(GuestVm vm) {
        if (vm.state() != MicroVm.State.STOPPED && !vm.stopped().isDone()) {
            return null;
        }
        try {
            vm.stopped().get(STOP_WAIT_SECONDS, TimeUnit.SECONDS);
            return null;
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (TimeoutException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    private static String consoleTail(GuestVm vm) {
        String tail = vm.console().tail(10);
        return tail.isEmpty() ? "; the console is empty" : "; console tail:\n" + tail;
    }
}
