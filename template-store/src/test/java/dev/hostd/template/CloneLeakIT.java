package dev.hostd.template;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hostd.guest.TestGuestImage;
import dev.hostd.vmm.kvm.Kvm;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** 1,000 clone/delete cycles return every fd, mapping and thread they took. */
@Timeout(value = 10, unit = TimeUnit.MINUTES) // hang guard only
class CloneLeakIT {
    static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    Path root;

    @ParameterizedTest(name = "{0} VMs made ahead")
    @ValueSource(ints = {0, 4})
    void thousandCloneDeleteCyclesLeakNothing(int shells) throws Exception {
        ProcessResources initial = ProcessResources.now(root);
        try (Kvm kvm = Kvm.open(); TemplateStore store = TemplateStore.open(root, kvm, WAIT, shells)) {
            Template template = store.build(new TemplateSpec("leak", TestGuestImage.bytes(), 32));
            Cloner cloner = new Cloner(kvm, WAIT, 4096);
            byte[] ping = "ping".getBytes(StandardCharsets.US_ASCII);
            for (int i = 0; i < 50; i++) { // let the JVM settle its own lazily created resources
                try (Sandbox s = cloner.clone(template, TestIdentities.number(i))) {
                    s.invoke("echo", ping, WAIT);
                }
            }
            awaitShells(template, shells);
            ProcessResources before = ProcessResources.now(template.directory());
            for (int i = 0; i < 1000; i++) {
                try (Sandbox s = cloner.clone(template, TestIdentities.number(i))) {
                    if (i % 100 == 0) {
                        assertEquals("ping", new String(s.invoke("echo", ping, WAIT).output(), StandardCharsets.US_ASCII));
                    }
                }
            }
            awaitShells(template, shells);
            ProcessResources after = ProcessResources.now(template.directory());
            assertEquals(before.fds(), after.fds(), "open file descriptors: " + before + " -> " + after);
            assertEquals(0, after.kvmFds() - before.kvmFds(), "KVM VM/vCPU fds");
            assertEquals(shells, after.vcpuMappings(), "kvm_run mappings: those of the VMs made ahead only");
            assertEquals(before.templateMappings(), after.templateMappings(), "guest RAM mappings of the template file");
            assertEquals(0, ProcessResources.awaitVcpuThreads(0), "vCPU threads (a thread renames itself just after its VM stopped)");
            assertTrue(after.mappings() <= before.mappings() + 16,
                    "process mappings may move by a few JVM-internal ones, not by one per clone: " + before + " -> " + after);
            assertEquals(0, cloner.liveCount(), "identities released");
        }
        ProcessResources closed = ProcessResources.now(root);
        assertEquals(initial.fds(), closed.fds(), "closing the store closes the VMs made ahead and the memory file: " + initial + " -> " + closed);
        assertEquals(initial.kvmFds(), closed.kvmFds(), "KVM fds after close");
        assertEquals(initial.vcpuMappings(), closed.vcpuMappings(), "kvm_run mappings after close");
    }

    /** VMs made ahead are refilled by a background thread (at nice 10); counts are compared once it has caught up. */
    private static void awaitShells(Template template, int shells) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60); // a hang guard: a loaded host gives the filler little CPU
        while (template.readyShells() < shells && System.nanoTime() - end < 0) {
            Thread.sleep(5);
        }
        assertEquals(shells, template.readyShells(), "VMs made ahead");
    }
}
