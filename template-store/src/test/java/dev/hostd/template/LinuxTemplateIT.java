package dev.hostd.template;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.hostd.vmm.kvm.HardwareVirtualization;
import dev.hostd.vmm.kvm.Kvm;
import dev.hostd.vmm.machine.LinuxVm;
import dev.hostd.vmm.machine.TinyPvhGuests;
import dev.hostd.vmm.snapshot.MicrovmState;
import dev.hostd.vmm.snapshot.SnapshotFile;
import dev.hostd.vmm.testing.SharedKvm;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Linux templates in the store on the real /dev/kvm, with a tiny PVH guest in place of Debian's
 * kernel (which cannot reach its agent on a PVM host; the API's LinuxTemplateIT in hostd does the
 * real thing where vmx/svm exist): a Linux snapshot written into the template directory is adopted
 * as a Linux template, verified, rejected with the reason once damaged, and deleted; a clone whose
 * guest never says HELLO fails with TIMEOUT and leaves its identity free.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS) // hang guard only
class LinuxTemplateIT {
    /** Counts forever at CPL 0 (a few instructions: fast even where each is emulated); never talks to the agent. */
    static final String SPIN = """
                mov $0x10000, %esp
            1:  incl 0x9100
                jmp 1b
            """;
    static final Kvm kvm = SharedKvm.get();
    static byte[] elf;

    Path root;
    TemplateStore store;

    @BeforeAll
    static void buildGuest(@TempDir Path build) throws Exception {
        elf = TinyPvhGuests.build(build, "spin", SPIN);
    }

    @BeforeEach
    void makeRoot() throws IOException {
        root = Files.createTempDirectory(Path.of("/dev/shm"), "hostd-linux-tpl-");
    }

    @AfterEach
    void cleanUp() throws IOException {
        if (store != null) {
            store.close();
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    /** A Linux snapshot of the tiny guest (2 vCPUs, 64 MiB) with template metadata, where the store adopts templates. */
    private Path snapshotAsTemplate(String id, Map<String, String> extra) {
        Path dir = root.resolve("templates").resolve(id);
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put(Template.META_ID, id);
        metadata.put(GuestKind.META_KEY, GuestKind.LINUX.label());
        metadata.putAll(extra);
        try (LinuxVm vm = LinuxVm.bootVmlinux("tiny-" + id, kvm, elf, "", 64, 2)) {
            vm.snapshot(dir, metadata);
        }
        return dir;
    }

    @Test
    void aLinuxSnapshotIsAdoptedVerifiedAndDeletedAsALinuxTemplate() {
        Path dir = snapshotAsTemplate("tiny", Map.of());
        store = TemplateStore.open(root, kvm, LiveWitness.WAIT);
        assertEquals(0, store.rejected().size(), () -> store.rejected().toString());
        Template t = store.get("tiny");
        assertEquals(GuestKind.LINUX, t.kind());
        assertEquals(2, t.vcpuCount());
        assertEquals(64L << 20, t.memoryBytes());
        assertEquals(0, t.readyShells(), "a Linux template makes no VMs ahead");
        TemplateStore.Verification v = store.verify("tiny");
        assertTrue(v.ok(), v.detail());
        assertTrue(v.detail().contains("Linux snapshot intact"), v.detail());
        store.delete("tiny");
        assertFalse(Files.exists(dir));
        assertThrows(TemplateException.class, () -> store.get("tiny"));
    }

    @Test
    void aDamagedLinuxTemplateFailsVerifyAndIsRejectedAtTheNextStartWithTheReason() throws IOException {
        Path dir = snapshotAsTemplate("tiny", Map.of());
        store = TemplateStore.open(root, kvm, LiveWitness.WAIT);
        flipAByteOfRam(dir.resolve("memory"));
        TemplateStore.Verification v = store.verify("tiny");
        assertFalse(v.ok(), "a flipped byte is found");
        assertTrue(v.detail().contains("CRC32C"), v.detail());
        store.close();

        store = TemplateStore.open(root, kvm, LiveWitness.WAIT);
        assertTrue(store.list().isEmpty(), "not adopted");
        assertEquals(1, store.rejected().size());
        TemplateStore.Rejected r = store.rejected().getFirst();
        assertEquals("tiny", r.id());
        assertTrue(r.reason().contains("CRC32C"), r.reason());
        assertTrue(Files.exists(dir), "a rejected directory is left for the operator");
    }

    @Test
    void metadataNamingAnotherGuestKindIsRejected() {
        snapshotAsTemplate("mixed", Map.of());
        Path state = root.resolve("templates/mixed/state");
        try {
            MicrovmState s = SnapshotFile.read(state);
            Map<String, String> metadata = new LinkedHashMap<>(s.metadata());
            metadata.put(GuestKind.META_KEY, GuestKind.TEST_GUEST.label());
            SnapshotFile.write(state, new MicrovmState(s.machine(), s.memory(), s.vm(), s.vcpus(), s.devices(), metadata));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        store = TemplateStore.open(root, kvm, LiveWitness.WAIT);
        assertEquals(1, store.rejected().size());
        assertTrue(store.rejected().getFirst().reason().contains("metadata says guest 'test-guest'"), store.rejected().toString());
    }

    @Test
    void aCloneWhoseGuestNeverSaysHelloTimesOutAndFreesItsIdentity() {
        snapshotAsTemplate("silent", Map.of());
        store = TemplateStore.open(root, kvm, LiveWitness.WAIT);
        Cloner cloner = new Cloner(kvm, Duration.ofMillis(500), 4096);
        Template t = store.get("silent");
        for (int attempt = 0; attempt < 2; attempt++) { // the second would be CONFLICT if the first kept the identity
            TemplateException e = assertThrows(TemplateException.class, () -> cloner.clone(t, TestIdentities.number(1)));
            assertEquals(TemplateException.Kind.TIMEOUT, e.kind(), e.getMessage());
            assertTrue(e.getMessage().contains("Linux clone"), e.getMessage());
            assertEquals(0, cloner.liveCount());
        }
    }

    @Test
    void everyVcpuThreadOfALinuxCloneIsBoundBeforeItRunsAndUnboundWhenItLeaves() throws Exception {
        snapshotAsTemplate("bound", Map.of());
        store = TemplateStore.open(root, kvm, LiveWitness.WAIT);
        Cloner cloner = new Cloner(kvm, Duration.ofMillis(500), 4096);
        java.util.Set<Integer> bound = java.util.concurrent.ConcurrentHashMap.newKeySet();
        java.util.Set<Integer> unbound = java.util.concurrent.ConcurrentHashMap.newKeySet();
        dev.hostd.vmm.machine.VcpuThreadBinding binding = new dev.hostd.vmm.machine.VcpuThreadBinding() {
            @Override
            public void bind(int tid) {
                bound.add(tid);
            }

            @Override
            public void unbind(int tid) {
                unbound.add(tid);
            }
        };
        TemplateException e = assertThrows(TemplateException.class, () -> cloner.clone(store.get("bound"), TestIdentities.number(3), binding));
        assertEquals(TemplateException.Kind.TIMEOUT, e.kind(), e.getMessage()); // the tiny guest has no agent
        assertEquals(2, bound.size(), "both vCPUs' threads: " + bound);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30); // the failed clone's close ends the threads
        while (!unbound.equals(bound) && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(bound, unbound, "each thread left the clone's cgroup");
    }

    private Path[] kernelAndInitramfs(byte[] kernel) throws IOException {
        Path files = Files.createDirectories(root.resolve("inputs"));
        return new Path[] {Files.write(files.resolve("vmlinux"), kernel), Files.write(files.resolve("initramfs.cpio"), new byte[] {7})};
    }

    private List<Path> templateDirEntries() throws IOException {
        try (Stream<Path> entries = Files.list(root.resolve("templates"))) {
            return entries.toList();
        }
    }

    @Test
    void aBuildOnAHostWithoutHardwareVirtualizationIsRefusedBeforeAnythingBoots() throws IOException {
        store = TemplateStore.open(root, kvm, LiveWitness.WAIT, 0, () -> Optional.of("no vmx or svm (a fake host check)"));
        Path[] in = kernelAndInitramfs(elf);
        TemplateException e = assertThrows(TemplateException.class, () -> store.build(new LinuxTemplateSpec("linux", in[0], in[1], 64, 1)));
        assertEquals(TemplateException.Kind.UNSUPPORTED_HOST, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains("no vmx or svm (a fake host check)"), e.getMessage());
        assertEquals(List.of(), templateDirEntries(), "no template or build directory was made");
        assertTrue(store.list().isEmpty());
    }

    @Test
    void thisHostsOwnCheckRefusesWhereThereIsNoVmxOrSvm() throws IOException {
        assumeFalse(HardwareVirtualization.present(), "this host has vmx/svm: a Linux build would boot here (the hostd LinuxTemplateIT does)");
        store = TemplateStore.open(root, kvm, LiveWitness.WAIT);
        Path[] in = kernelAndInitramfs(elf);
        TemplateException e = assertThrows(TemplateException.class, () -> store.build(new LinuxTemplateSpec("linux", in[0], in[1], 64, 1)));
        assertEquals(TemplateException.Kind.UNSUPPORTED_HOST, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains("vmx/svm"), e.getMessage());
        assertEquals(List.of(), templateDirEntries());
    }

    @Test
    void aFileThatIsNoKernelIsInvalidInputBeforeTheHostCheck() throws IOException {
        store = TemplateStore.open(root, kvm, LiveWitness.WAIT, 0, () -> {
            throw new AssertionError("the host check runs after the inputs are checked");
        });
        Path[] in = kernelAndInitramfs("#!/bin/sh\necho not a kernel\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        TemplateException e = assertThrows(TemplateException.class, () -> store.build(new LinuxTemplateSpec("linux", in[0], in[1], 64, 1)));
        assertEquals(TemplateException.Kind.INVALID_INPUT, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains(": kernel " + in[0] + " is neither a bzImage nor a vmlinux"), e.getMessage());
    }

    private static void flipAByteOfRam(Path memory) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(memory.toFile(), "rw")) {
            long at = 0x100000; // a hole reads as zeros, so the flip changes the content either way
            f.seek(at);
            int b = f.read();
            f.seek(at);
            f.write(b ^ 0xff);
        }
    }
}
