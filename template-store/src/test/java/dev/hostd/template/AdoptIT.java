package dev.hostd.template;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hostd.guest.TestGuestImage;
import dev.hostd.vmm.snapshot.SnapshotFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Timeout;

/**
 * A restart: templates built by one store are adopted by the next one on the same root; leftovers
 * of interrupted builds are removed; damaged templates are refused with a reason, kept on disk, and
 * do not stop the good ones from being adopted.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS) // hang guard only
class AdoptIT {
    @RegisterExtension
    static final LiveWitness witness = new LiveWitness();
    static Path root;

    @BeforeAll
    static void start() throws Exception {
        root = Files.createTempDirectory("hostd-adopt-");
    }

    @AfterAll
    static void stop() throws Exception {
        try {
        } finally {
            TestFiles.deleteTree(root);
        }
    }

    /** How each victim is damaged after the first store closed, and what the reason must say. */
    record Damage(String id, String reasonContains) {}

    @Test
    void restartAdoptsGoodTemplatesAndRejectsDamagedOnesWithoutLosingThem() throws Exception {
        List<Damage> damages = List.of(
                new Damage("state-flipped", "corrupt: body checksum mismatch"),
                new Damage("state-truncated", "truncated"),
                new Damage("state-major-2", "snapshot format 2.0 is not supported"),
                new Damage("memory-missing", "is missing"),
                new Damage("memory-short", "the state file says"),
                new Damage("memory-flipped", "is corrupt: CRC32C"));
        Map<String, byte[]> stateBefore = new LinkedHashMap<>();
        Sandbox survivor;
        try (TemplateStore first = TemplateStore.open(root, witness.kvm, LiveWitness.WAIT)) {
            first.build(new TemplateSpec("good-a", TestGuestImage.bytes(), 16));
            first.build(new TemplateSpec("good-b", TestGuestImage.bytes(), 18));
            for (Damage d : damages) {
                first.build(new TemplateSpec(d.id(), TestGuestImage.bytes(), 16));
            }
            // A clone made before the restart outlives the store that made it.
            survivor = witness.cloner.clone(first.get("good-a"), TestIdentities.number(1));
        }
        try (survivor) {
            Path templates = root.resolve("templates");
            TestFiles.flipByte(templates.resolve("state-flipped/state"), 200);
            Path truncated = templates.resolve("state-truncated/state");
            TestFiles.truncate(truncated, Files.size(truncated) / 2);
            TestFiles.patchMajorVersion(templates.resolve("state-major-2/state"), 2);
            Files.delete(templates.resolve("memory-missing/memory"));
            TestFiles.truncate(templates.resolve("memory-short/memory"), (16 << 20) - 4096);
            TestFiles.flipByte(templates.resolve("memory-flipped/memory"), 0x100000 + 17); // inside the loaded image
            for (Damage d : damages) {
                Path state = templates.resolve(d.id()).resolve("state");
                stateBefore.put(d.id(), Files.exists(state) ? Files.readAllBytes(state) : null);
            }
            // An interrupted build, and a directory whose name is no template id.
            Path leftover = Files.createDirectories(templates.resolve(".build-good-c-1234"));
            Files.write(leftover.resolve("memory"), new byte[4096]);
            Files.createDirectories(templates.resolve("Not A Template"));

            try (TemplateStore second = TemplateStore.open(root, witness.kvm, LiveWitness.WAIT)) {
                assertEquals(List.of("good-a", "good-b"), second.list().stream().map(Template::id).toList(), "adopted templates");
                assertFalse(Files.exists(leftover), "leftover of an interrupted build removed");

                Map<String, String> reasons = new LinkedHashMap<>();
                second.rejected().forEach(r -> reasons.put(r.id(), r.reason()));
                for (Damage d : damages) {
                    String reason = reasons.get(d.id());
                    assertNotNull(reason, d.id() + " must be listed as rejected, got " + reasons);
                    assertTrue(reason.contains(d.reasonContains()), d.id() + ": reason '" + reason + "' should say '" + d.reasonContains() + "'");
                    assertThrows(TemplateException.class, () -> second.get(d.id()));
                    // Nothing lost: the directory and the (damaged) state file are still there for an operator.
                    Path dir = templates.resolve(d.id());
                    assertTrue(Files.isDirectory(dir), d.id() + " left on disk");
                    if (stateBefore.get(d.id()) != null) {
                        assertArrayEquals(stateBefore.get(d.id()), Files.readAllBytes(dir.resolve("state")), d.id() + " state untouched");
                    }
                }
                assertTrue(reasons.get("state-major-2").contains("rebuild the template"), reasons.get("state-major-2"));
                assertTrue(reasons.get("Not A Template").contains("template id"), reasons.get("Not A Template"));
                assertEquals(damages.size() + 1, reasons.size(), "rejected: " + reasons);

                // A rejected id cannot be silently overwritten by a new build.
                TemplateException conflict = assertThrows(TemplateException.class,
                        () -> second.build(new TemplateSpec("memory-flipped", TestGuestImage.bytes(), 16)));
                assertEquals(TemplateException.Kind.CONFLICT, conflict.kind());
                assertTrue(conflict.getMessage().contains("was not adopted"), conflict.getMessage());

                // The operator removes the damaged directory: it leaves the rejected list without a restart,
                // and the id can be built again.
                removeTree(templates.resolve("memory-flipped"));
                assertFalse(second.rejected().stream().anyMatch(r -> r.id().equals("memory-flipped")), "removed directory still listed");
                assertEquals(damages.size(), second.rejected().size(), "the other rejected directories stay listed");
                Template rebuilt = second.build(new TemplateSpec("memory-flipped", TestGuestImage.bytes(), 16));
                assertEquals(SnapshotFile.FORMAT_MAJOR + "." + SnapshotFile.FORMAT_MINOR, rebuilt.formatVersion());
                second.delete("memory-flipped");
                assertEquals(SnapshotFile.FORMAT_MAJOR + "." + SnapshotFile.FORMAT_MINOR, second.get("good-a").formatVersion(),
                        "an adopted template reports the version its state file was written in");

                // Adopted templates are clonable, and the pre-restart clone still answers.
                try (Sandbox a = witness.cloner.clone(second.get("good-a"), TestIdentities.number(2));
                     Sandbox b = witness.cloner.clone(second.get("good-b"), TestIdentities.number(3))) {
                    echo(a);
                    echo(b);
                }
                echo(survivor);
                assertTrue(second.verify("good-a").ok());
            }
        }
        witness.assertAnswers();
    }

    static void removeTree(Path dir) throws java.io.IOException {
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    static void echo(Sandbox s) {
        byte[] payload = ("hi " + s.id()).getBytes(StandardCharsets.UTF_8);
        assertArrayEquals(payload, s.invoke("echo", payload, LiveWitness.WAIT).output(), s.id() + " echo");
    }
}
