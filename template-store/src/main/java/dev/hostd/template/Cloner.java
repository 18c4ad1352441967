package dev.hostd.template;

import dev.hostd.vmm.agent.IdentityReport;
import dev.hostd.vmm.device.net.NetAttachment;
import dev.hostd.vmm.device.net.Tap;
import dev.hostd.vmm.identity.Identity;
import dev.hostd.vmm.identity.IdentityPage;
import dev.hostd.vmm.kvm.Kvm;
import dev.hostd.vmm.machine.MicroVm;
import dev.hostd.vmm.machine.VcpuThreadBinding;
import dev.hostd.vmm.machine.VmShell;
import dev.hostd.vmm.memory.MemoryMapping;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeoutException;

/**
 * Makes sandboxes from templates: a copy-on-write view of the template's RAM, its saved state
 * restored, a new identity (and a fresh random seed) written into the identity page, then the
 * vCPU resumed. The sandbox is returned once its agent has acknowledged exactly that identity.
 */
public final class Cloner {
    /** Where a clone's failure is cleaned up: closing a VM joins its vCPU thread, which may be the caller. */
    private static final Executor OFF_GUEST_THREAD = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("clone-end-", 0).factory());
    /** The agents' HELLO timeouts of all clones in this process. */
    private static final CoarseTimer READY_DEADLINES = new CoarseTimer("clone-deadlines");
    private final Kvm kvm;
    private final Duration readyTimeout;
    private final int consoleLogBytes;
    private final IdentityRegistry identities = new IdentityRegistry();
    private final SecureRandom random = new SecureRandom();
    /** Linux templates clone there, with this cloner's identity registry. */
    private final LinuxCloner linux;

    public Cloner(Kvm kvm, Duration readyTimeout, int consoleLogBytes) {
        this.kvm = kvm;
        this.readyTimeout = readyTimeout;
        this.consoleLogBytes = consoleLogBytes;
        this.linux = new LinuxCloner(kvm, readyTimeout, identities, OFF_GUEST_THREAD, READY_DEADLINES);
    }

    /** Number of live sandboxes made by this cloner. */
    public int liveCount() {
        return identities.size();
    }

    public Sandbox clone(Template template, Identity identity) {
        return clone(template, identity, null, null);
    }

    /**
     * A clone whose vCPU threads are handed to {@code vcpuThreads} (e.g. the sandbox's cgroup)
     * after the restore and before the guest runs its first instruction, so its CPU limits hold
     * from the start. On failure the threads are unbound before this throws.
     */
    public Sandbox clone(Template template, Identity identity, VcpuThreadBinding vcpuThreads) {
        return clone(template, identity, vcpuThreads, null);
    }

    /**
     * A clone whose network device (the template must have one) is connected to {@code tap}, with
     * the MAC of its identity. The sandbox owns the TAP from the call on: it is closed with the
     * sandbox, or at once if cloning fails.
     */
    public Sandbox clone(Template template, Identity identity, Tap tap) {
        return clone(template, identity, null, tap);
    }

    /** A clone with its vCPU threads bound and its network device on a TAP, as above; either may be null (none). */
    public Sandbox clone(Template template, Identity identity, VcpuThreadBinding vcpuThreads, Tap tap) {
        CompletableFuture<Sandbox> ready = start(template, identity, vcpuThreads, tap);
        try {
            return ready.get(); // bounded: the agent's wait times out after readyTimeout
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            ready.thenAcceptAsync(Sandbox::close, OFF_GUEST_THREAD); // nobody will take it
            throw new TemplateException(TemplateException.Kind.INTERNAL, "interrupted while cloning sandbox " + identity.sandboxId());
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : Errors.wrap("cloning sandbox " + identity.sandboxId() + " failed", e.getCause());
        }
    }

    /**
     * Starts a clone on the calling thread (restore, identity, resume: bounded system calls, no
     * waiting for the guest) and returns at once. The future completes with the sandbox once its
     * agent has acknowledged the identity, on the thread that serves the guest's agent channel, so
     * a caller that answers from it adds no thread hand-off to the clone. It fails with the
     * reason (timeout, guest failure, wrong identity) once the half-made VM is closed; that
     * clean-up runs on a thread of its own, never on the guest's.
     */
    public CompletableFuture<Sandbox> start(Template template, Identity identity, VcpuThreadBinding vcpuThreads, Tap tap) {
        if (template.kind() == GuestKind.LINUX) {
            return linux.start(template, identity, vcpuThreads, tap);
        }
        return start(template, null, identity, vcpuThreads, tap);
    }

    /**
     * As {@link #start}, without a network device, only if the template has a VM made ahead and
     * ready now; otherwise null, having taken nothing. A caller on a thread that must not block
     * (an event loop) uses this: the start is then restore, identity and resume only, never
     * KVM_CREATE_VM and the copy of the write set.
     */
    public CompletableFuture<Sandbox> startIfMadeAhead(Template template, Identity identity, VcpuThreadBinding vcpuThreads) {
        VmShell shell = template.kind() == GuestKind.TEST_GUEST ? template.pollShell() : null;
        return shell == null ? null : start(template, shell, identity, vcpuThreads, null);
    }

    /** Starts a test-guest clone in {@code madeAhead}, or in a shell taken (or made) now if that is null. */
    private CompletableFuture<Sandbox> start(Template template, VmShell madeAhead, Identity identity, VcpuThreadBinding vcpuThreads, Tap tap) {
        try {
            identities.reserve(identity);
        } catch (RuntimeException e) {
            if (tap != null) {
                tap.close();
            }
            if (madeAhead != null) {
                madeAhead.close();
            }
            throw e;
        }
        MicroVm vm = null;
        try {
            WriteSet writeSet = template.writeSet();
            VmShell shell = madeAhead != null ? madeAhead : template.takeShell(); // its RAM has the known write set copied already
            MemoryMapping ram = shell.ram();
            vm = MicroVm.restore(identity.sandboxId(), shell, template.restoreImage(), consoleLogBytes,
                    new NetAttachment(tap, identity.mac()));
            byte[] seed = new byte[IdentityPage.SEED_BYTES];
            random.nextBytes(seed);
            long generation = IdentityPage.generation(vm.memory()) + 1;
            IdentityPage.write(vm.memory(), identity, generation, seed, Clock.nowNanos());
            if (vcpuThreads != null) {
                vm.bindVcpuThreads(vcpuThreads);
            }
            CompletableFuture<IdentityReport> hello = vm.agent().expectHello();
            vm.resume();
            Pending pending = new Pending(template, identity, generation, seed, vm, ram, tap, new CompletableFuture<>());
            CoarseTimer.Deadline deadline = READY_DEADLINES.schedule(readyTimeout.toNanos(),
                    () -> hello.completeExceptionally(new TimeoutException()));
            hello.whenComplete((report, error) -> {
                deadline.cancel();
                if (error == null && writeSet != null) {
                    finish(pending, report, null);
                } else { // a failure, or the first clone, which learns the write set: neither on the guest's thread
                    OFF_GUEST_THREAD.execute(() -> finish(pending, report, error));
                }
            });
            return pending.ready;
        } catch (RuntimeException e) {
            throw failed(identity, template, vm, tap, e);
        }
    }

    /** A clone whose guest runs and whose agent has not said hello yet. */
    private record Pending(Template template, Identity identity, long generation, byte[] seed, MicroVm vm, MemoryMapping ram,
                           Tap tap, CompletableFuture<Sandbox> ready) {}

    /** The end of a clone: the sandbox if the agent acknowledged exactly its identity, else the VM closed and the reason. */
    private void finish(Pending p, IdentityReport report, Throwable error) {
        RuntimeException failure;
        try {
            if (error != null) {
                throw error instanceof TimeoutException
                        ? new TemplateException(TemplateException.Kind.TIMEOUT, "the clone's agent did not say hello within "
                                + readyTimeout.toMillis() + " ms; console tail:\n" + p.vm.console().tail(10))
                        : GuestStops.beforeHello(p.vm, "the clone stopped before its agent said hello", error);
            }
            checkReport(p.identity, p.generation, p.seed, report);
            p.template.learnWriteSet(p.ram); // the first clone's writes; a no-op once known
            p.ready.complete(new Sandbox(p.vm, p.template.id(), p.identity, report, () -> identities.release(p.identity)));
            return;
        } catch (RuntimeException e) {
            failure = e;
        }
        // Closing joins the vCPU thread: never from the guest's own thread.
        if (Thread.currentThread().isVirtual()) {
            p.ready.completeExceptionally(failed(p.identity, p.template, p.vm, p.tap, failure));
        } else {
            OFF_GUEST_THREAD.execute(() -> p.ready.completeExceptionally(failed(p.identity, p.template, p.vm, p.tap, failure)));
        }
    }

    /** Undoes a clone that did not become a sandbox; returns the exception to report. */
    private TemplateException failed(Identity identity, Template template, MicroVm vm, Tap tap, RuntimeException e) {
        if (vm != null) {
            vm.close();
        }
        if (tap != null) {
            tap.close(); // idempotent: the VM may have closed it already
        }
        identities.release(identity);
        return Errors.wrap("cloning sandbox " + identity.sandboxId() + " from template '" + template.id() + "' failed", e);
    }

    /** The agent must report the identity it was given, byte for byte, and prove it read the new seed. */
    static void checkReport(Identity given, long generation, byte[] seed, IdentityReport report) {
        StringBuilder wrong = new StringBuilder();
        if (report.generation() != generation) {
            wrong.append(" generation ").append(report.generation()).append(" != ").append(generation);
        }
        if (!Arrays.equals(report.mac(), given.mac())) {
            wrong.append(" mac ").append(Identity.formatMac(report.mac()));
        }
        if (!Arrays.equals(report.ipv4(), given.ipv4()) || report.prefixLength() != given.prefixLength()) {
            wrong.append(" ipv4 ").append(Identity.formatIpv4(report.ipv4())).append('/').append(report.prefixLength());
        }
        if (!Arrays.equals(report.gateway(), given.gateway())) {
            wrong.append(" gateway ").append(Identity.formatIpv4(report.gateway()));
        }
        if (!report.hostname().equals(given.hostname())) {
            wrong.append(" hostname ").append(report.hostname());
        }
        if (!report.sandboxId().equals(given.sandboxId()) || !report.tenantId().equals(given.tenantId())) {
            wrong.append(" ids ").append(report.sandboxId()).append('/').append(report.tenantId());
        }
        if (!Arrays.equals(report.seedSha256(), sha256(seed))) {
            wrong.append(" seed hash");
        }
        if (!wrong.isEmpty()) {
            throw new TemplateException(TemplateException.Kind.GUEST_FAILURE, "guest reported a different identity:" + wrong);
        }
    }

    private static byte[] sha256(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
