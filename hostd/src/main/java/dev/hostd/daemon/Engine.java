package dev.hostd.daemon;

import dev.hostd.cgroup.SandboxCgroup;
import dev.hostd.net.SandboxPort;
import dev.hostd.template.Cloner;
import dev.hostd.template.GuestKind;
import dev.hostd.template.Sandbox;
import dev.hostd.template.LinuxTemplateSpec;
import dev.hostd.template.Template;
import dev.hostd.template.TemplateSpec;
import dev.hostd.template.TemplateStore;
import dev.hostd.vmm.agent.InvokeResult;
import dev.hostd.vmm.device.net.Tap;
import dev.hostd.vmm.identity.Identity;
import dev.hostd.vmm.kvm.Kvm;
import dev.hostd.vmm.machine.MicroVm;
import dev.hostd.vmm.snapshot.SnapshotFile;
import io.micronaut.context.annotation.Context;
import io.micronaut.runtime.graceful.GracefulShutdownCapable;
import jakarta.annotation.PreDestroy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The daemon's orchestration over the engine: owns {@code /dev/kvm}, the template store and the
 * cloner, the live sandboxes, the limits and the lifecycle (STARTING → READY → STOPPING → STOPPED).
 *
 * <p>Concurrency: no global lock. Sandboxes live in a concurrent map; each sandbox has its own lock
 * for pause, resume and invoke, so a slow operation on one never waits for another sandbox. Delete
 * takes no lock: it removes the sandbox from the map and closes its VM, which ends an invoke
 * waiting on it. The live-sandbox limit is an atomic reservation taken before the clone.
 */
@Context
public final class Engine implements GracefulShutdownCapable {
    private static final Logger LOG = LoggerFactory.getLogger(Engine.class);
    private static final int DEFAULT_MEMORY_MIB = 64;
    private static final Pattern FUNCTION = Pattern.compile("[A-Za-z0-9_.-]{1,64}");
    private static final String WARMUP_TENANT = "hostd-warmup";
    public static final String VERSION = Engine.class.getPackage().getImplementationVersion() != null
            ? Engine.class.getPackage().getImplementationVersion() : "dev";

    public enum Phase { STARTING, READY, STOPPING, STOPPED }

    private final HostdConfig config;
    private final Metrics metrics;
    private final SystemdNotifier systemd;
    private final Kvm kvm;
    private final TemplateStore store;
    private final Cloner cloner;
    private final SandboxCgroups cgroups;
    private final SandboxNetworks networks;
    private final LinuxTemplates linuxTemplates;
    private final Map<String, LiveSandbox> sandboxes = new ConcurrentHashMap<>();
    private final AtomicInteger reserved = new AtomicInteger();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final Ipv4Allocator ips = new Ipv4Allocator();
    private final RandomIds ids = new RandomIds();
    private final Instant startedAt = Instant.now();
    private volatile Phase phase = Phase.STARTING;
    /** Set by close() before it deletes the live sandboxes. */
    private volatile boolean swept;
    private volatile String phaseDetail = "adopting templates";

    public Engine(HostdConfig config, Metrics metrics, SystemdNotifier systemd, SandboxCgroups cgroups, SandboxNetworks networks,
                  LinuxTemplates linuxTemplates) {
        this.config = config;
        this.linuxTemplates = linuxTemplates;
        this.cgroups = cgroups;
        this.networks = networks;
        this.metrics = metrics;
        this.systemd = systemd;
        try {
            Files.createDirectories(config.stateDir());
            Files.createDirectories(config.imageDir());
        } catch (IOException e) {
            throw new IllegalStateException("cannot create state directory hostd.state-dir=" + config.stateDir() + ": " + e, e);
        }
        this.kvm = Kvm.open(config.kvmDevice());
        try {
            this.store = TemplateStore.open(config.templatesRoot(), kvm, config.readyTimeout(), config.vmsMadeAhead());
        } catch (RuntimeException e) {
            kvm.close();
            throw e;
        }
        this.cloner = new Cloner(kvm, config.readyTimeout(), config.consoleLogBytes());
        LOG.info("adopted {} template(s) from {}: {}; rejected {}", store.list().size(), store.directory(),
                store.list().stream().map(Template::id).toList(),
                store.rejected().stream().map(r -> r.id() + " (" + r.reason() + ")").toList());
        metrics.gauge("hostd_sandboxes_live", "Live sandboxes.", sandboxes::size);
        metrics.gauge("hostd_sandboxes_max", "The limit hostd.limits.max-sandboxes.", config::maxSandboxes);
        metrics.gauge("hostd_templates", "Adopted or built templates.", () -> store.list().size());
        metrics.gauge("hostd_templates_rejected", "Template directories not adopted at start and still on disk.", () -> store.rejected().size());
        metrics.gauge("hostd_template_memory_bytes", this::templateMemoryGauge);
        // A page-map walk per sandbox at scrape time (~0.1 ms per 64 MiB of guest RAM): 0.2 s at 2,000 sandboxes.
        metrics.gauge("hostd_sandboxes_private_memory_bytes", "Guest RAM pages the live sandboxes wrote (their own host memory), summed.",
                this::privateMemorySum);
        metrics.gauge("hostd_sandboxes_memory_limit_bytes", "Guest RAM of the live sandboxes (the most host memory they can hold), summed.",
                () -> sandboxes.values().stream().mapToLong(l -> l.memoryLimitBytes).sum());
        metrics.gauge("hostd_ready", "1 when the API accepts work.", () -> phase == Phase.READY ? 1 : 0);
    }

    private String templateMemoryGauge() {
        StringBuilder b = new StringBuilder("# HELP hostd_template_memory_bytes Guest RAM held in shared memory per template.\n"
                + "# TYPE hostd_template_memory_bytes gauge\n");
        for (Template t : store.list()) {
            b.append("hostd_template_memory_bytes{template=\"").append(t.id()).append("\"} ").append(t.memoryBytes()).append('\n');
        }
        return b.toString();
    }

    private long privateMemorySum() {
        long sum = 0;
        for (LiveSandbox l : sandboxes.values()) {
            try {
                sum += l.sandbox.privateMemoryBytes();
            } catch (RuntimeException e) { // deleted meanwhile
                LOG.debug("private memory of sandbox {} not read: {}", l.sandbox.id(), e.getMessage());
            }
        }
        return sum;
    }

    // ---- lifecycle ------------------------------------------------------------------------------

    public Phase phase() {
        return phase;
    }

    public String phaseDetail() {
        return phaseDetail;
    }

    /** Clones and deletes a few sandboxes of an adopted template (if any), then reports READY. */
    void warmUpAndReady() {
        if (phase != Phase.STARTING) {
            return;
        }
        phaseDetail = "warming the clone path";
        // Test-guest templates only: a Linux clone on a host without vmx/svm would wait out the ready timeout.
        List<Template> templates = store.list().stream().filter(t -> t.kind() == GuestKind.TEST_GUEST).toList();
        if (templates.isEmpty() || config.warmupClones() == 0) {
            LOG.info("clone path warm-up skipped: {}", templates.isEmpty() ? "no test-guest template adopted" : "hostd.warmup-clones=0");
        } else {
            Template t = templates.getFirst();
            int ok = 0;
            for (int i = 0; i < config.warmupClones() && phase == Phase.STARTING; i++) {
                Identity identity = new Identity(ids.mac(), Ipv4Allocator.toBytes(Ipv4Allocator.POOL_BASE + 2 + i), SandboxPlan.DEFAULT_PREFIX,
                        Ipv4Allocator.toBytes(Ipv4Allocator.GATEWAY), "warmup-" + i, "warmup-" + i + "-" + ids.hex(4), WARMUP_TENANT);
                try (Sandbox s = cloner.clone(t, identity)) {
                    s.invoke("echo", new byte[] {1, 2, 3}, config.invokeTimeout());
                    ok++;
                } catch (RuntimeException e) {
                    LOG.warn("warm-up clone {} of template {} failed: {}", i, t.id(), e.getMessage());
                }
            }
            LOG.info("clone path warmed with {}/{} clone(s) of template {}", ok, config.warmupClones(), t.id());
        }
        synchronized (this) {
            if (phase != Phase.STARTING) {
                return;
            }
            phase = Phase.READY;
            phaseDetail = "ready";
        }
        systemd.ready("ready: " + store.list().size() + " template(s), socket " + config.socketPath());
        LOG.info("hostd {} ready on {}", VERSION, config.socketPath());
    }

    private synchronized boolean beginStopping() {
        if (phase == Phase.STOPPING || phase == Phase.STOPPED) {
            return false;
        }
        phase = Phase.STOPPING;
        phaseDetail = "shutting down";
        return true;
    }

    /** First step of a shutdown (SIGTERM): no new work; systemd is told STOPPING=1. */
    @Override
    public CompletionStage<?> shutdownGracefully() {
        if (beginStopping()) {
            LOG.info("shutting down: accepting no new work");
            systemd.stopping("stopping: deleting " + sandboxes.size() + " sandbox(es), keeping templates");
        }
        return CompletableFuture.completedFuture(null);
    }

    /** Last step of a shutdown: waits for in-flight work (up to the grace), deletes every sandbox, keeps the templates. */
    @PreDestroy
    public void close() {
        shutdownGracefully();
        long deadline = System.nanoTime() + config.shutdownGrace().toNanos();
        while (inFlight.get() > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (inFlight.get() > 0) {
            LOG.warn("{} request(s) still running after hostd.shutdown-grace={}: their sandboxes are deleted under them", inFlight.get(), config.shutdownGrace());
        }
        swept = true; // before the sweep: a create that publishes after it sees this and deletes its own sandbox
        List<LiveSandbox> all = new ArrayList<>();
        for (Map.Entry<String, LiveSandbox> e : sandboxes.entrySet()) {
            if (sandboxes.remove(e.getKey(), e.getValue())) {
                all.add(e.getValue());
            }
        }
        try (ExecutorService closer = Executors.newVirtualThreadPerTaskExecutor()) {
            for (LiveSandbox l : all) {
                closer.submit(() -> closeQuietly(l));
            }
        }
        LOG.info("deleted {} sandbox(es); keeping {} template(s) in {}", all.size(), store.list().size(), store.directory());
        store.close();
        kvm.close();
        phase = Phase.STOPPED;
        phaseDetail = "stopped";
    }

    private void closeQuietly(LiveSandbox l) {
        try {
            l.sandbox.close();
        } catch (RuntimeException e) {
            LOG.warn("closing sandbox {} failed: {}", l.sandbox.id(), e.getMessage());
        } finally {
            cgroups.release(l.sandbox.id());
            networks.release(l.sandbox.id(), l.port); // after the VM: it no longer reads or writes the TAP
            ips.release(l.sandbox.identity().tenantId(), l.ipv4);
            reserved.decrementAndGet();
        }
    }

    @FunctionalInterface
    interface Work<T> {
        T run();
    }

    /** Runs an API operation if hostd is READY, counted as in flight so a shutdown can wait for it. */
    private <T> T work(Work<T> w) {
        inFlight.incrementAndGet();
        try {
            requireReady();
            return w.run();
        } finally {
            inFlight.decrementAndGet();
        }
    }

    private void requireReady() {
        Phase p = phase;
        if (p != Phase.READY) {
            throw new ApiException(ProblemCode.UNAVAILABLE, "hostd is " + p.name().toLowerCase() + " (" + phaseDetail + "): retry later");
        }
    }

    // ---- templates ------------------------------------------------------------------------------

    public Dto.TemplateView buildTemplate(Dto.TemplateRequest r) {
        if (r == null) {
            throw new ApiException(ProblemCode.INVALID_INPUT, "a template needs a JSON body {\"id\",\"image\",\"memoryMiB\"}");
        }
        TemplateSpec.validateId(r.id());
        if (r.guest() != null && GuestKind.parse(r.guest()) == GuestKind.LINUX) {
            return work(() -> Views.of(store.build(linuxTemplates.spec(r))));
        }
        LinuxTemplates.requireNoLinuxMembers(r);
        int memoryMiB = r.memoryMiB() == null ? DEFAULT_MEMORY_MIB : r.memoryMiB();
        return work(() -> {
            byte[] image = GuestImages.read(r.image(), config.imageDir());
            return Views.of(store.build(new TemplateSpec(r.id(), image, memoryMiB, Boolean.TRUE.equals(r.network()))));
        });
    }

    public Dto.TemplateList templates() {
        return new Dto.TemplateList(store.list().stream().map(Views::of).toList(),
                store.rejected().stream().map(r -> new Dto.RejectedView(r.id(), r.directory().toString(), r.reason())).toList());
    }

    public Dto.TemplateView template(String id) {
        TemplateSpec.validateId(id);
        return Views.of(store.get(id));
    }

    public Dto.VerificationView verify(String id) {
        TemplateSpec.validateId(id);
        return work(() -> {
            TemplateStore.Verification v = store.verify(id);
            return new Dto.VerificationView(v.id(), v.ok(), v.detail());
        });
    }

    public void deleteTemplate(String id) {
        TemplateSpec.validateId(id);
        work(() -> {
            store.delete(id);
            return null;
        });
    }

    // ---- sandboxes ------------------------------------------------------------------------------

    /**
     * Starts a create. Bad input and refusals (limits, not ready, unknown template) are thrown at
     * once; the future completes with the sandbox once it is ready, on the thread that serves its
     * guest's agent, or fails with the reason after everything the create took is released.
     *
     * <p>The start (allocations, restore, resume) is short system calls when the template has a VM
     * made ahead, no tenant network to attach and no cgroup to join, and then runs on the calling
     * thread: an API create answered from the guest's thread crosses no thread pool. Otherwise it
     * runs on {@code blocking}.
     */
    public CompletableFuture<Dto.SandboxView> startCreate(Dto.SandboxRequest r, Executor blocking) {
        SandboxPlan plan = SandboxPlan.of(r, ids, cgroups); // all of the request checked before anything is taken
        inFlight.incrementAndGet();
        CompletableFuture<Dto.SandboxView> created;
        try {
            requireReady();
            Template template = store.get(r.template());
            boolean networked = networks.wants(template);
            if (networked) {
                requireNoExplicitAddress(r);
            }
            // A VM to make, a TAP to attach or a thread to move between cgroups (the move can wait for an
            // RCU grace period: 12 ms at p99 in benchmarks/resources.md) would stall the event loop.
            boolean shortStart = !networked && !cgroups.enabled() && template.readyShells() > 0; // a hint: checked again on taking
            created = shortStart ? startClone(plan, template, false, true) : null;
            if (created == null) { // not short: no VM made ahead after all, a network or a cgroup
                created = CompletableFuture.supplyAsync(() -> startClone(plan, template, networked, false), blocking).thenCompose(f -> f);
            }
        } catch (RuntimeException e) {
            inFlight.decrementAndGet();
            throw e;
        }
        created.whenComplete((view, error) -> inFlight.decrementAndGet());
        return created;
    }

    /**
     * Takes the sandbox's limit slot, address or network port and cgroup, and starts its clone;
     * with {@code madeAheadOnly}, returns null (having given everything back) if the template has
     * no VM made ahead ready now.
     */
    private CompletableFuture<Dto.SandboxView> startClone(SandboxPlan plan, Template template, boolean networked, boolean madeAheadOnly) {
        String id = plan.id(), tenant = plan.request().tenant();
        if (reserved.incrementAndGet() > config.maxSandboxes()) {
            reserved.decrementAndGet();
            throw new ApiException(ProblemCode.LIMIT_EXCEEDED, "hostd already runs " + config.maxSandboxes()
                    + " sandboxes, the limit " + HostdConfig.MAX_SANDBOXES_KEY + "=" + config.maxSandboxes()
                    + ": delete sandboxes or raise the limit", HostdConfig.MAX_SANDBOXES_KEY);
        }
        Taken taken = new Taken(id, tenant);
        try {
            Identity identity;
            if (networked) { // the forwarder's lease is the identity (docs/network.md)
                taken.port = networks.attach(tenant, id);
                identity = SandboxNetworks.identity(taken.port, plan.hostname(), id, tenant);
            } else {
                if (plan.requestedIp() != null) {
                    ips.claim(tenant, Ipv4Allocator.toInt(plan.requestedIp()));
                    taken.ip = Ipv4Allocator.toInt(plan.requestedIp()); // only once claimed: a refused claim releases nothing
                } else {
                    taken.ip = ips.allocate(tenant);
                }
                identity = plan.identity(Ipv4Allocator.toBytes(taken.ip));
            }
            long t0 = System.nanoTime();
            taken.cgroup = cgroups.lease(id, plan.limits()); // null when hostd.cgroups.enabled is false
            // the sandbox owns a duplicate of the TAP fd; the port keeps its own until release
            CompletableFuture<Sandbox> ready = madeAheadOnly ? cloner.startIfMadeAhead(template, identity, taken.cgroup)
                    : cloner.start(template, identity, taken.cgroup, taken.port == null ? null : Tap.duplicateOf(taken.port.tapFd()));
            if (ready == null) {
                release(taken);
                return null;
            }
            return ready.handle((sandbox, error) -> {
                if (error != null) {
                    release(taken);
                    throw error instanceof RuntimeException e ? e : new CompletionException(error);
                }
                return publish(sandbox, (System.nanoTime() - t0) / 1e9, template, plan, taken);
            });
        } catch (RuntimeException e) {
            release(taken);
            throw e;
        }
    }

    /**
     * Makes a ready sandbox live. If that fails, or a shutdown has already deleted the live
     * sandboxes, the sandbox is closed (on a thread of its own: this may be the guest's) and its
     * resources given back, and the create fails.
     */
    private Dto.SandboxView publish(Sandbox sandbox, double seconds, Template template, SandboxPlan plan, Taken taken) {
        LiveSandbox live;
        try {
            metrics.cloneSeconds(seconds);
            live = new LiveSandbox(sandbox, Instant.now(), seconds * 1000, taken.ip, template.memoryBytes(), taken.cgroup, plan.limits());
            live.port = taken.port;
            live.network = networks.view(taken.port);
            sandboxes.put(plan.id(), live); // the limit slot, address, port and cgroup are the live sandbox's now
        } catch (RuntimeException e) {
            Thread.ofVirtual().start(() -> {
                sandbox.close();
                release(taken);
            });
            throw e;
        }
        if (swept && sandboxes.remove(plan.id(), live)) { // the shutdown's sweep has passed: nobody else will delete it
            Thread.ofVirtual().start(() -> closeQuietly(live));
            throw new ApiException(ProblemCode.UNAVAILABLE, "hostd is stopping: sandbox " + plan.id() + " became ready after"
                    + " the shutdown deleted the live sandboxes, so it was deleted too");
        }
        return Views.of(live);
    }

    /** What a create has taken so far, released if it fails: limit slot, address, network port, cgroup. */
    private static final class Taken {
        final String id, tenant;
        int ip = -1;
        SandboxPort port;
        SandboxCgroup cgroup;

        Taken(String id, String tenant) {
            this.id = id;
            this.tenant = tenant;
        }
    }

    private void release(Taken t) {
        cgroups.release(t.id, t.cgroup);
        networks.release(t.id, t.port);
        if (t.ip != -1) {
            ips.release(t.tenant, t.ip);
        }
        reserved.decrementAndGet();
    }

    /** A sandbox on a tenant network takes the forwarder's lease; an address in the request is refused, not ignored. */
    private static void requireNoExplicitAddress(Dto.SandboxRequest r) {
        for (var field : new String[][] {{"mac", r.mac()}, {"ipv4", r.ipv4()}, {"gateway", r.gateway()},
                {"prefixLength", r.prefixLength() == null ? null : r.prefixLength().toString()}}) {
            if (field[1] != null) {
                throw new ApiException(ProblemCode.INVALID_INPUT, field[0] + " must not be given: template " + r.template()
                        + " has a network device, so the sandbox's MAC, ipv4, prefixLength and gateway are leased from tenant "
                        + r.tenant() + "'s network");
            }
        }
    }

    public Dto.SandboxList sandboxes(String tenant, String template, String state) {
        if (state != null) {
            try {
                MicroVm.State.valueOf(state);
            } catch (IllegalArgumentException e) {
                throw new ApiException(ProblemCode.INVALID_INPUT, "state must be one of RUNNING, PAUSED, STOPPED, CREATED; got '" + state + "'");
            }
        }
        return new Dto.SandboxList(sandboxes.values().stream()
                .filter(l -> tenant == null || l.sandbox.identity().tenantId().equals(tenant))
                .filter(l -> template == null || l.sandbox.templateId().equals(template))
                .filter(l -> state == null || l.sandbox.state().name().equals(state))
                .sorted(Comparator.comparing((LiveSandbox l) -> l.createdAt).thenComparing(l -> l.sandbox.id()))
                .map(Views::of).toList());
    }

    private LiveSandbox live(String id) {
        if (id == null || id.isEmpty() || id.length() > 63) {
            throw new ApiException(ProblemCode.INVALID_INPUT, "sandbox id '" + id + "' must be 1-63 characters");
        }
        LiveSandbox l = sandboxes.get(id);
        if (l == null) {
            throw new ApiException(ProblemCode.NOT_FOUND, "no sandbox '" + id + "'");
        }
        return l;
    }

    /** One sandbox, with its private memory measured (the page-map walk lists skip). */
    public Dto.SandboxView sandbox(String id) {
        return Views.of(live(id), true);
    }

    public void delete(String id) {
        work(() -> {
            LiveSandbox l = live(id);
            if (sandboxes.remove(id, l)) {
                closeQuietly(l);
            } else {
                throw new ApiException(ProblemCode.NOT_FOUND, "no sandbox '" + id + "'");
            }
            return null;
        });
    }

    public Dto.SandboxView pause(String id) {
        return work(() -> {
            LiveSandbox l = live(id);
            l.lock.lock();
            try {
                switch (l.sandbox.state()) {
                    case RUNNING -> l.sandbox.pause();
                    case PAUSED -> { }
                    default -> throw new ApiException(ProblemCode.CONFLICT, "sandbox " + id + " is " + l.sandbox.state() + ": it cannot be paused");
                }
                return Views.of(l);
            } finally {
                l.lock.unlock();
            }
        });
    }

    public Dto.SandboxView resume(String id) {
        return work(() -> {
            LiveSandbox l = live(id);
            l.lock.lock();
            try {
                switch (l.sandbox.state()) {
                    case PAUSED -> l.sandbox.resume();
                    case RUNNING -> { }
                    default -> throw new ApiException(ProblemCode.CONFLICT, "sandbox " + id + " is " + l.sandbox.state() + ": it cannot be resumed");
                }
                return Views.of(l);
            } finally {
                l.lock.unlock();
            }
        });
    }

    public Dto.InvokeView invoke(String id, Dto.InvokeRequest r) {
        if (r == null || r.function() == null || !FUNCTION.matcher(r.function()).matches()) {
            throw new ApiException(ProblemCode.INVALID_INPUT, "function must be 1-64 of [A-Za-z0-9_.-]; got '" + (r == null ? null : r.function()) + "'");
        }
        byte[] argument;
        try {
            argument = r.argumentBase64() == null ? new byte[0] : Base64.getDecoder().decode(r.argumentBase64());
        } catch (IllegalArgumentException e) {
            throw new ApiException(ProblemCode.INVALID_INPUT, "argumentBase64 is not base64: " + e.getMessage());
        }
        if (argument.length > config.maxPayloadBytes()) {
            throw new ApiException(ProblemCode.PAYLOAD_TOO_LARGE, "invoke argument of " + argument.length + " bytes exceeds "
                    + HostdConfig.MAX_PAYLOAD_KEY + "=" + config.maxPayloadBytes(), HostdConfig.MAX_PAYLOAD_KEY);
        }
        return work(() -> {
            LiveSandbox l = live(id);
            l.lock.lock();
            try {
                if (l.sandbox.state() != MicroVm.State.RUNNING) {
                    throw new ApiException(ProblemCode.CONFLICT, "sandbox " + id + " is " + l.sandbox.state() + ": resume it before invoking");
                }
                long t0 = System.nanoTime();
                InvokeResult result = l.sandbox.invoke(r.function(), argument, config.invokeTimeout());
                double seconds = (System.nanoTime() - t0) / 1e9;
                metrics.invokeSeconds(seconds);
                return new Dto.InvokeView(result.status(), result.statusName(), Base64.getEncoder().encodeToString(result.output()), seconds * 1000);
            } finally {
                l.lock.unlock();
            }
        });
    }

    public String console(String id) {
        return live(id).sandbox.console().text();
    }

    // ---- host -----------------------------------------------------------------------------------

    public Dto.HostView host() {
        long templateBytes = store.list().stream().mapToLong(Template::memoryBytes).sum();
        return new Dto.HostView(VERSION, new Dto.KvmView(config.kvmDevice().toString(), kvm.apiVersion()),
                new Dto.CountView(sandboxes.size(), config.maxSandboxes()), store.list().size(),
                new Dto.MemoryView(ProcFiles.value(Path.of("/proc/meminfo"), "MemAvailable:"), templateBytes,
                        ProcFiles.value(Path.of("/proc/self/status"), "VmRSS:")),
                java.time.Duration.between(startedAt, Instant.now()).toSeconds());
    }

    public int liveCount() {
        return sandboxes.size();
    }

    /** For tests and tools: the store's view of what is on disk. */
    TemplateStore store() {
        return store;
    }
}
