package dev.hostd.template;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hostd.guest.TestGuestImage;
import dev.hostd.vmm.agent.InvokeResult;
import dev.hostd.vmm.identity.Identity;
import dev.hostd.vmm.kvm.Kvm;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Basepoint build and clones of the real test guest on /dev/kvm. */
@Timeout(value = 120, unit = TimeUnit.SECONDS) // hang guard only
class CloneIT {
    static final Duration WAIT = Duration.ofSeconds(20);
    @TempDir
    static Path root;
    static Kvm kvm;
    static TemplateStore store;
    static Template template;
    static Cloner cloner;

    @BeforeAll
    static void buildTemplate() {
        kvm = Kvm.open();
        store = TemplateStore.open(root, kvm, WAIT);
        template = store.build(new TemplateSpec("test-guest", TestGuestImage.bytes(), 64));
        cloner = new Cloner(kvm, WAIT, 16 << 10);
    }

    @AfterAll
    static void close() {
        store.close();
        kvm.close();
    }

    @Test
    void aCloneReportsExactlyTheIdentityItWasGiven() {
        Identity identity = TestIdentities.number(1);
        try (Sandbox sandbox = cloner.clone(template, identity)) {
            assertEquals("sbx-1", sandbox.report().sandboxId());
            assertEquals("tenant-a", sandbox.report().tenantId());
            assertArrayEquals(identity.mac(), sandbox.report().mac());
            assertArrayEquals(identity.ipv4(), sandbox.report().ipv4());
            assertEquals(2, sandbox.report().identitiesSeen(), "the template's identity, then the clone's");
            // And asked again through the agent, the guest still says the same.
            InvokeResult again = sandbox.invoke("identity", new byte[0], WAIT);
            assertTrue(again.ok());
            assertEquals("sbx-1", dev.hostd.vmm.agent.IdentityReport.parse(again.output()).sandboxId());
        }
    }

    @Test
    void twoClonesNeverShareIdentityOrSeed() {
        try (Sandbox a = cloner.clone(template, TestIdentities.number(2));
             Sandbox b = cloner.clone(template, TestIdentities.number(3))) {
            assertNotEquals(a.report().sandboxId(), b.report().sandboxId());
            assertFalse(Arrays.equals(a.report().mac(), b.report().mac()));
            assertFalse(Arrays.equals(a.report().seedSha256(), b.report().seedSha256()), "each clone gets a fresh random seed");
            assertThrows(TemplateException.class, () -> cloner.clone(template, TestIdentities.number(2)),
                    "a live identity cannot be cloned twice");
        }
    }

    @Test
    void builtInFunctionsAnswerCorrectly() throws Exception {
        try (Sandbox sandbox = cloner.clone(template, TestIdentities.number(4))) {
            byte[] payload = "hello, sandbox".getBytes(StandardCharsets.UTF_8);
            assertArrayEquals(payload, sandbox.invoke("echo", payload, WAIT).output());

            byte[] big = new byte[1000_000];
            new java.util.Random(7).nextBytes(big);
            assertArrayEquals(MessageDigest.getInstance("SHA-256").digest(big), sandbox.invoke("sha256", big, WAIT).output());
            assertArrayEquals(big, sandbox.invoke("echo", big, WAIT).output());

            InvokeResult touch = sandbox.invoke("touch", le32(4), WAIT);
            assertTrue(touch.ok(), touch.statusName());
            assertEquals(4 * 256, ByteBuffer.wrap(touch.output()).order(ByteOrder.LITTLE_ENDIAN).getLong());

            InvokeResult spin = sandbox.invoke("spin", le32(20), WAIT);
            assertTrue(spin.ok(), spin.statusName());
            assertTrue(ByteBuffer.wrap(spin.output()).order(ByteOrder.LITTLE_ENDIAN).getLong() > 0);

            assertEquals(InvokeResult.UNKNOWN_FUNCTION, sandbox.invoke("nope", new byte[0], WAIT).status());
            assertEquals(InvokeResult.BAD_ARGUMENT, sandbox.invoke("touch", le32(4096), WAIT).status());
        }
    }

    static byte[] le32(int v) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array();
    }
}
