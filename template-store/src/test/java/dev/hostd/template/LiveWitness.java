package dev.hostd.template;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hostd.guest.TestGuestImage;
import dev.hostd.vmm.agent.InvokeResult;
import dev.hostd.vmm.kvm.Kvm;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A sandbox cloned before a test does something bad, in a store of its own: after the bad
 * operation it must still answer {@code echo}, which shows the daemon and its other sandboxes
 * survived. Close it in {@code @AfterAll}; closing also removes its directory.
 */
final class LiveWitness implements AutoCloseable {
    static final Duration WAIT = Duration.ofSeconds(20);
    private static final AtomicInteger CALLS = new AtomicInteger();

    final Path root;
    final TemplateStore store;
    final Template template;
    final Cloner cloner;
    final Sandbox sandbox;

    private LiveWitness(Path root, TemplateStore store, Template template, Cloner cloner, Sandbox sandbox) {
        this.root = root;
        this.store = store;
        this.template = template;
        this.cloner = cloner;
        this.sandbox = sandbox;
    }

    static LiveWitness start(Kvm kvm) throws Exception {
        Path root = Files.createTempDirectory("hostd-witness-");
        TemplateStore store = null;
        try {
            store = TemplateStore.open(root, kvm, WAIT);
            Template template = store.build(new TemplateSpec("witness", TestGuestImage.bytes(), 16));
            Cloner cloner = new Cloner(kvm, WAIT, 16 << 10);
            Sandbox sandbox = cloner.clone(template, TestIdentities.number(60_000, "witness"));
            LiveWitness w = new LiveWitness(root, store, template, cloner, sandbox);
            w.assertAnswers();
            return w;
        } catch (Exception | Error e) {
            if (store != null) {
                store.close();
            }
            TestFiles.deleteTree(root);
            throw e;
        }
    }

    /** The sandbox cloned before the bad operation still answers. */
    void assertAnswers() {
        byte[] payload = ("still alive " + CALLS.incrementAndGet()).getBytes(StandardCharsets.UTF_8);
        InvokeResult result = sandbox.invoke("echo", payload, WAIT);
        assertTrue(result.ok(), "witness sandbox answered status " + result.statusName());
        assertArrayEquals(payload, result.output(), "witness sandbox echo");
    }

    @Override
    public void close() throws Exception {
        try {
            sandbox.close();
        } finally {
            store.close();
            TestFiles.deleteTree(root);
        }
    }
}
