package dev.hostd.template;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hostd.guest.TestGuestImage;
import dev.hostd.vmm.kvm.Kvm;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** 1,000 clone/delete cycles return every fd, mapping and thread they took. */
@Timeout(value = 10, unit = TimeUnit.MINUTES) // hang guard only
class CloneLeakIT {
    static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    Path root;

    @Test
    void thousandCloneDeleteCyclesLeakNothing() throws Exception {
        try (Kvm kvm = Kvm.open(); TemplateStore store = TemplateStore.open(root, kvm, WAIT)) {
            Template template = store.build(new TemplateSpec("leak", TestGuestImage.bytes(), 32));
            Cloner cloner = new Cloner(kvm, WAIT, 4096);
            byte[] ping = "ping".getBytes(StandardCharsets.US_ASCII);
            for (int i = 0; i < 50; i++) { // let the JVM settle its own lazily created resources
                try (Sandbox s = cloner.clone(template, TestIdentities.number(i))) {
                    s.invoke("echo", ping, WAIT);
                }
            }
            ProcessResources before = ProcessResources.now(template.directory());
            for (int i = 0; i < 1000; i++) {
                try (Sandbox s = cloner.clone(template, TestIdentities.number(i))) {
                    if (i % 100 == 0) {
                        assertEquals("ping", new String(s.invoke("echo", ping, WAIT).output(), StandardCharsets.US_ASCII));
                    }
                }
            }
            ProcessResources after = ProcessResources.now(template.directory());
            assertEquals(before.fds(), after.fds(), "open file descriptors: " + before + " -> " + after);
            assertEquals(0, after.kvmFds() - before.kvmFds(), "KVM VM/vCPU fds");
            assertEquals(0, after.vcpuMappings(), "kvm_run mappings");
            assertEquals(before.templateMappings(), after.templateMappings(), "guest RAM mappings of the template file");
            assertEquals(0, after.vcpuThreads(), "vCPU threads");
            assertTrue(after.mappings() <= before.mappings() + 16,
                    "process mappings may move by a few JVM-internal ones, not by one per clone: " + before + " -> " + after);
            assertEquals(0, cloner.liveCount(), "identities released");
        }
    }
}
