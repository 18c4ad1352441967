package dev.hostd.template;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hostd.guest.TestGuestImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Timeout;

/**
 * Templates live on a memory file system, and a MAP_SHARED write to a full tmpfs is a SIGBUS that
 * would kill the daemon: a build whose RAM does not fit the free space is refused up front. The
 * store root is a 16 MiB tmpfs mounted for this test (needs root).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS) // hang guard only
class TemplateSpaceIT {
    @RegisterExtension
    static final LiveWitness witness = new LiveWitness();
    static Path mountPoint;
    static boolean mounted;
    static TemplateStore store;

    @BeforeAll
    static void start() throws Exception {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "mounting a small tmpfs as the store root needs root");
        mountPoint = Files.createTempDirectory("hostd-small-tmpfs-");
        run("mount", "-t", "tmpfs", "-o", "size=16m,mode=0700", "hostd-test", mountPoint.toString());
        mounted = true;
        store = TemplateStore.open(mountPoint, witness.kvm, LiveWitness.WAIT);
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            if (store != null) {
                store.close(); // closes the template memory files, or the unmount would be busy
            }
        } finally {
            try {
                if (mounted && !run("umount", mountPoint.toString())) {
                    run("umount", "-l", mountPoint.toString());
                }
            } finally {
                if (mountPoint != null) {
                    Files.deleteIfExists(mountPoint);
                }
            }
        }
    }

    @Test
    void aTemplateWhoseRamDoesNotFitTheFreeSpaceIsRefusedBeforeAnythingIsMapped() throws Exception {
        TemplateException e = assertThrows(TemplateException.class, () -> store.build(new TemplateSpec("too-big", TestGuestImage.bytes(), 64)));
        assertEquals(TemplateException.Kind.HOST_UNAVAILABLE, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains("not enough memory for template 'too-big'"), e.getMessage());
        assertTrue(e.getMessage().contains("64 MiB of RAM do not fit the 16 MiB free"), e.getMessage());
        assertTrue(e.getMessage().contains(store.directory().toString()), e.getMessage());
        assertEquals(List.of(), TestFiles.names(store.directory()), "nothing left behind");
        witness.assertAnswers();
    }

    @Test
    void whatCountsIsTheFreeSpaceNotTheSizeAndAFittingTemplateStillBuildsAndClones() throws Exception {
        Path filler = store.directory().resolve(".filler");
        Files.write(filler, new byte[10 << 20]);
        try {
            TemplateException e = assertThrows(TemplateException.class, () -> store.build(new TemplateSpec("small", TestGuestImage.bytes(), 8)));
            assertEquals(TemplateException.Kind.HOST_UNAVAILABLE, e.kind(), e.getMessage());
            assertTrue(e.getMessage().contains("8 MiB of RAM do not fit the 6 MiB free"), e.getMessage());
        } finally {
            Files.delete(filler);
        }
        Template small = store.build(new TemplateSpec("small", TestGuestImage.bytes(), 8));
        try (Sandbox s = witness.cloner.clone(small, TestIdentities.number(800))) {
            AdoptIT.echo(s);
        }
        store.delete("small");
        witness.assertAnswers();
    }

    /** Runs a command; true if it exited 0. */
    static boolean run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            if (command[0].equals("mount")) {
                throw new IllegalStateException(String.join(" ", command) + " failed (this test needs root): " + output);
            }
            return false;
        }
        return true;
    }
}
