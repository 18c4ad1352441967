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
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A sandbox cloned before a test does something bad, in a store of its own: after the bad
 * operation it must still answer {@code echo}, which shows the daemon and its other sandboxes
 * survived. A JUnit extension: {@code @RegisterExtension static final LiveWitness witness = new
 * LiveWitness();} opens /dev/kvm ({@link #kvm}) and the witness before the class's own
 * {@code @BeforeAll}, and closes both, removing its directory, after the class's {@code @AfterAll}.
 */
final class LiveWitness implements BeforeAllCallback, AfterAllCallback {
    static final Duration WAIT = Duration.ofSeconds(20);
    private static final AtomicInteger CALLS = new AtomicInteger();

    Kvm kvm;
    Path root;
    TemplateStore store;
    Template template;
    Cloner cloner;
    Sandbox sandbox;

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        kvm = Kvm.open();
        root = Files.createTempDirectory("hostd-witness-");
        store = TemplateStore.open(root, kvm, WAIT);
        template = store.build(new TemplateSpec("witness", TestGuestImage.bytes(), 16));
        cloner = new Cloner(kvm, WAIT, 16 << 10);
        sandbox = cloner.clone(template, TestIdentities.number(60_000, "witness"));
        assertAnswers();
    }

    /** The sandbox cloned before the bad operation still answers. */
    void assertAnswers() {
        byte[] payload = ("still alive " + CALLS.incrementAndGet()).getBytes(StandardCharsets.UTF_8);
        InvokeResult result = sandbox.invoke("echo", payload, WAIT);
        assertTrue(result.ok(), "witness sandbox answered status " + result.statusName());
        assertArrayEquals(payload, result.output(), "witness sandbox echo");
    }

    /** Runs even when beforeAll failed half-way: closes whatever was made. */
    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        try {
            if (sandbox != null) {
                sandbox.close();
            }
        } finally {
            try {
                if (store != null) {
                    store.close();
                }
                if (root != null) {
                    TestFiles.deleteTree(root);
                }
            } finally {
                if (kvm != null) {
                    kvm.close();
                }
            }
        }
    }
}
