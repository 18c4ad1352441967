package dev.hostd.template;

import dev.hostd.vmm.agent.IdentityReport;
import dev.hostd.vmm.device.net.Tap;
import dev.hostd.vmm.identity.Identity;
import dev.hostd.vmm.identity.IdentityPage;
import dev.hostd.vmm.kvm.Kvm;
import dev.hostd.vmm.machine.LinuxVm;
import dev.hostd.vmm.machine.VcpuThreadBinding;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeoutException;

/**
 * Makes sandboxes from Linux templates, with the same promise as {@link Cloner#start} for the
 * test guest: the VM is restored from the template's snapshot with its RAM copy-on-write and its
 * vCPUs waiting, the clone's identity (and a fresh seed) written to the identity page as the next
 * generation, the vCPU threads bound, the guest resumed; the future completes with the sandbox
 * once the agent's HELLO reports exactly that identity ({@link Cloner#checkReport}). Identities
 * come from the cloner's registry, so no two sandboxes of any kind share one.
 *
 * <p>The HELLO arrives on the VM's device service thread, which holds the device lock; the end of
 * the clone (check, sandbox, the caller's continuation, or closing a failed VM) runs on
 * {@code offGuestThread} instead.
 */
final class LinuxCloner {
    private final Kvm kvm;
    private final Duration readyTimeout;
    private final IdentityRegistry identities;
    private final Executor offGuestThread;
    private final CoarseTimer deadlines;
    private final SecureRandom random = new SecureRandom();

    LinuxCloner(Kvm kvm, Duration readyTimeout, IdentityRegistry identities, Executor offGuestThread, CoarseTimer deadlines) {
        this.deadlines = deadlines;
        this.kvm = kvm;
        this.readyTimeout = readyTimeout;
        this.identities = identities;
        this.offGuestThread = offGuestThread;
    }

    /**
     * As {@link Cloner#start}: restore, identity and resume on the calling thread, refusals thrown
     * at once. A Linux template has no network device, so {@code tap} must be null.
     */
    CompletableFuture<Sandbox> start(Template template, Identity identity, VcpuThreadBinding vcpuThreads, Tap tap) {
        if (tap != null) {
            tap.close(); // the sandbox owned it from the call on
            throw new TemplateException(TemplateException.Kind.INVALID_INPUT, "template '" + template.id()
                    + "' is a Linux template, which has no network device yet: clone it without a TAP");
        }
        identities.reserve(identity);
        LinuxVm vm = null;
        try {
            vm = template.restoreLinuxPaused(identity.sandboxId(), kvm);
            long at = vm.layout().identityPage();
            byte[] seed = new byte[IdentityPage.SEED_BYTES];
            random.nextBytes(seed);
            long generation = IdentityPage.generation(vm.memory(), at) + 1;
            IdentityPage.write(vm.memory(), at, identity, generation, seed, Clock.nowNanos());
            if (vcpuThreads != null) {
                vm.bindVcpuThreads(vcpuThreads);
            }
            CompletableFuture<IdentityReport> hello = vm.agent().expectHello();
            vm.resume();
            Pending pending = new Pending(template, identity, generation, seed, vm, new CompletableFuture<>());
            CoarseTimer.Deadline deadline = deadlines.schedule(readyTimeout.toNanos(),
                    () -> hello.completeExceptionally(new TimeoutException()));
            hello.whenCompleteAsync((report, error) -> {
                deadline.cancel();
                finish(pending, report, error);
            }, offGuestThread);
            return pending.ready;
        } catch (RuntimeException e) {
            throw failed(identity, template, vm, e);
        }
    }

    /** A clone whose guest runs and whose agent has not said hello yet. */
    private record Pending(Template template, Identity identity, long generation, byte[] seed, LinuxVm vm,
                           CompletableFuture<Sandbox> ready) {}

    private void finish(Pending p, IdentityReport report, Throwable error) {
        try {
            if (error != null) {
                Throwable cause = Errors.unwrap(error);
                throw cause instanceof TimeoutException
                        ? new TemplateException(TemplateException.Kind.TIMEOUT, "the Linux clone's agent did not say hello within "
                                + readyTimeout.toMillis() + " ms; console tail:\n" + p.vm.console().tail(10))
                        : GuestStops.beforeHello(p.vm, "the Linux clone stopped before its agent said hello", cause);
            }
            Cloner.checkReport(p.identity, p.generation, p.seed, report);
            p.ready.complete(new Sandbox(p.vm, p.template.id(), p.identity, report, () -> identities.release(p.identity)));
        } catch (RuntimeException e) {
            p.ready.completeExceptionally(failed(p.identity, p.template, p.vm, e));
        }
    }

    /** Undoes a clone that did not become a sandbox; returns the exception to report. */
    private TemplateException failed(Identity identity, Template template, LinuxVm vm, RuntimeException e) {
        if (vm != null) {
            vm.close();
        }
        identities.release(identity);
        return Errors.wrap("cloning sandbox " + identity.sandboxId() + " from Linux template '" + template.id() + "' failed", e);
    }
}
