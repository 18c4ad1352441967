package dev.hostd.template;

import dev.hostd.vmm.agent.IdentityReport;
import dev.hostd.vmm.identity.Identity;
import dev.hostd.vmm.identity.IdentityPage;
import dev.hostd.vmm.kvm.Kvm;
import dev.hostd.vmm.machine.MachineConfig;
import dev.hostd.vmm.machine.MicroVm;
import dev.hostd.vmm.memory.MemoryFile;
import dev.hostd.vmm.snapshot.MemoryChecksum;
import dev.hostd.vmm.snapshot.MemoryState;
import dev.hostd.vmm.snapshot.MicrovmState;
import dev.hostd.vmm.snapshot.SnapshotFile;
import java.io.IOException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Builds a Basepoint in a directory: boots the guest with its RAM in {@code <dir>/memory}
 * (MAP_SHARED, so RAM is already the file when the VM stops), waits for the agent's HELLO and
 * for the guest to park, pauses, saves the machine state, and writes {@code <dir>/state} with
 * the memory file's checksum.
 */
final class TemplateBuilder {
    /** The identity a template is booted with; every clone replaces it (a new generation). */
    static final Identity TEMPLATE_IDENTITY = new Identity(Identity.parseMac("02:00:00:00:00:01"),
            Identity.parseIpv4("198.18.0.2"), 15, Identity.parseIpv4("198.18.0.1"), "basepoint", "basepoint", "basepoint");

    private final Kvm kvm;
    private final Duration readyTimeout;
    private final SecureRandom random = new SecureRandom();

    TemplateBuilder(Kvm kvm, Duration readyTimeout) {
        this.kvm = kvm;
        this.readyTimeout = readyTimeout;
    }

    /** Builds into {@code dir} (which must exist and be empty); returns the saved state. */
    MicrovmState build(TemplateSpec spec, Path dir) throws IOException {
        long started = System.nanoTime();
        MachineConfig config = spec.network() ? MachineConfig.userElf(spec.memoryMiB()).withNet() : MachineConfig.userElf(spec.memoryMiB());
        Path memoryPath = dir.resolve(Template.MEMORY_FILE);
        MicrovmState saved;
        try (MemoryFile file = MemoryFile.create(memoryPath, config.memoryBytes());
             MicroVm vm = MicroVm.boot("template-" + spec.id(), kvm, config, file.mapShared(), spec.guestImage())) {
            byte[] seed = new byte[IdentityPage.SEED_BYTES];
            random.nextBytes(seed);
            IdentityPage.write(vm.memory(), TEMPLATE_IDENTITY, 1, seed, Clock.nowNanos());
            CompletableFuture<IdentityReport> hello = vm.agent().expectHello();
            vm.resume();
            IdentityReport report = GuestStops.awaitHello(vm, hello, readyTimeout, "template guest");
            if (report.generation() != 1 || !report.sandboxId().equals(TEMPLATE_IDENTITY.sandboxId())) {
                throw new TemplateException(TemplateException.Kind.GUEST_FAILURE,
                        "guest agent reported identity generation " + report.generation() + " for '" + report.sandboxId() + "', expected 1 for 'basepoint'");
            }
            vm.awaitIdle(readyTimeout);
            vm.pause();
            saved = vm.saveState(new MemoryState(Template.MEMORY_FILE, config.memoryBytes(), 0), Map.of());
        }
        int crc = MemoryChecksum.crc32c(memoryPath);
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put(Template.META_ID, spec.id());
        metadata.put(GuestKind.META_KEY, GuestKind.TEST_GUEST.label());
        metadata.put(Template.META_CREATED, Instant.now().toString());
        metadata.put(Template.META_IMAGE_SHA256, sha256(spec.guestImage()));
        metadata.put(Template.META_IMAGE_BYTES, Integer.toString(spec.guestImage().length));
        metadata.put(Template.META_BUILD_MILLIS, Long.toString(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started)));
        metadata.put(Template.META_HOSTD_VERSION, Version.VERSION);
        MicrovmState state = new MicrovmState(saved.machine(), new MemoryState(Template.MEMORY_FILE, config.memoryBytes(), crc),
                saved.vm(), saved.vcpus(), saved.devices(), metadata);
        SnapshotFile.write(dir.resolve(Template.STATE_FILE), state);
        return state;
    }


    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
