package dev.hostd.template;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hostd.guest.TestGuestImage;
import dev.hostd.vmm.machine.MicroVm;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Timeout;

/** verify() finds corruption in place; delete() removes a template without harming its live clones. */
@Timeout(value = 120, unit = TimeUnit.SECONDS) // hang guard only
class VerifyDeleteIT {
    @RegisterExtension
    static final LiveWitness witness = new LiveWitness();
    Path root;
    TemplateStore store;

    @BeforeEach
    void openStore() throws Exception {
        root = Files.createTempDirectory("hostd-verify-");
        store = TemplateStore.open(root, witness.kvm, LiveWitness.WAIT);
    }

    @AfterEach
    void closeStore() throws Exception {
        try {
            store.close();
        } finally {
            TestFiles.deleteTree(root);
        }
    }

    @Test
    void verifyIsOkForAGoodTemplateAndNamesTheProblemAfterTheMemoryFileIsCorruptedInPlace() throws Exception {
        Template t = store.build(new TemplateSpec("verify-me", TestGuestImage.bytes(), 16));
        TemplateStore.Verification good = store.verify("verify-me");
        assertTrue(good.ok(), good.detail());
        assertTrue(good.detail().contains("intact"), good.detail());

        TestFiles.flipByte(t.directory().resolve("memory"), 0x100000 + 5);
        TemplateStore.Verification bad = store.verify("verify-me");
        assertFalse(bad.ok());
        assertTrue(bad.detail().contains("memory file") && bad.detail().contains("is corrupt: CRC32C"), bad.detail());

        TestFiles.flipByte(t.directory().resolve("memory"), 0x100000 + 5); // back as it was
        assertTrue(store.verify("verify-me").ok());
        TestFiles.flipByte(t.directory().resolve("state"), 100);
        TemplateStore.Verification badState = store.verify("verify-me");
        assertFalse(badState.ok());
        assertTrue(badState.detail().contains("checksum mismatch"), badState.detail());

        TemplateException missing = assertThrows(TemplateException.class, () -> store.verify("no-such-template"));
        assertEquals(TemplateException.Kind.NOT_FOUND, missing.kind());
        assertTrue(missing.getMessage().contains("no-such-template"), missing.getMessage());
        witness.assertAnswers();
    }

    @Test
    void deleteRemovesTheFilesButAnEarlierCloneKeepsRunningAndClosesCleanly() throws Exception {
        Template t = store.build(new TemplateSpec("doomed", TestGuestImage.bytes(), 16));
        Path dir = t.directory();
        Sandbox clone = witness.cloner.clone(t, TestIdentities.number(10));
        try {
            store.delete("doomed");
            assertFalse(Files.exists(dir), "template directory removed");
            assertTrue(TestFiles.mappingsOf(dir + "/memory (deleted)") >= 1, "the clone still maps the unlinked memory file");
            TemplateException gone = assertThrows(TemplateException.class, () -> store.get("doomed"));
            assertEquals(TemplateException.Kind.NOT_FOUND, gone.kind());
            assertTrue(gone.getMessage().contains("'doomed'"), gone.getMessage());

            // tmpfs (and any file system) keeps unlinked pages while they are mapped.
            byte[] payload = "after delete".getBytes(StandardCharsets.UTF_8);
            assertArrayEquals(payload, clone.invoke("echo", payload, LiveWitness.WAIT).output());
            assertTrue(clone.invoke("touch", CloneIT.le32(2), LiveWitness.WAIT).ok(), "the clone can still write its memory");

            // Cloning the deleted template through a stale reference: NOT_FOUND, with the id, and the identity stays free.
            TemplateException stale = assertThrows(TemplateException.class, () -> witness.cloner.clone(t, TestIdentities.number(11)));
            assertEquals(TemplateException.Kind.NOT_FOUND, stale.kind());
            assertTrue(stale.getMessage().contains("doomed"), stale.getMessage());
            int live = witness.cloner.liveCount();
            try (Sandbox reused = witness.cloner.clone(witness.template, TestIdentities.number(11))) {
                assertEquals(live + 1, witness.cloner.liveCount(), "identity of the failed clone was released");
                assertEquals("sbx-11", reused.report().sandboxId());
            }

            TemplateException again = assertThrows(TemplateException.class, () -> store.delete("doomed"));
            assertEquals(TemplateException.Kind.NOT_FOUND, again.kind());
            TemplateException never = assertThrows(TemplateException.class, () -> store.get("never-built"));
            assertEquals(TemplateException.Kind.NOT_FOUND, never.kind());
            assertTrue(never.getMessage().contains("never-built"), never.getMessage());
        } finally {
            clone.close();
        }
        assertEquals(MicroVm.State.STOPPED, clone.state());
        assertTrue(clone.stopped().isDone() && !clone.stopped().isCompletedExceptionally(), "closed cleanly");
        assertEquals(0, TestFiles.mappingsOf(dir.toString()), "no mapping of the deleted template left");

        // The id is free again.
        Template rebuilt = store.build(new TemplateSpec("doomed", TestGuestImage.bytes(), 16));
        try (Sandbox fresh = witness.cloner.clone(rebuilt, TestIdentities.number(12))) {
            assertEquals("sbx-12", fresh.report().sandboxId());
        }
        witness.assertAnswers();
    }
}
