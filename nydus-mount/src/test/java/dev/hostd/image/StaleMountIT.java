package dev.hostd.image;

import dev.hostd.image.fuse.Mounts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A mount whose process was killed (SIGKILL) is detected and cleaned by the next mount. */
class StaleMountIT {
    @TempDir
    Path tmp;

    @Test
    void mountOverTheCorpseOfAKilledProcess() throws Exception {
        FuseSupport.assumeFuse();
        SampleImage.write(tmp.resolve("oci"), 0);
        Path image = tmp.resolve("image");
        ImageConverter.convert(tmp.resolve("oci"), image, ImageConverter.Options.defaults());
        Path mp = Files.createDirectories(tmp.resolve("mnt"));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), "dev.hostd.image.cli.NydusMountCli", "mount", "--image",
                image.toString(), mp.toString()).redirectErrorStream(true).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream()));
            String line;
            while ((line = out.readLine()) != null && !line.startsWith("mounted ")) {
                // JVM warnings
            }
            assertTrue(line != null, "the child mounted the image");
            assertEquals("overwritten\n", Files.readString(mp.resolve("etc/hostname")));
            child.destroyForcibly(); // SIGKILL: no shutdown hook, no unmount
            assertTrue(child.waitFor(60, TimeUnit.SECONDS), "the killed child exited"); // only then is its FUSE connection gone
            assertTrue(Mounts.isStale(mp), "stat gives ENOTCONN");

            try (ImageMount m = ImageMount.mount(new ImageSource.Local(image, null), mp, MountOptions.defaults())) {
                assertEquals("overwritten\n", Files.readString(mp.resolve("etc/hostname")));
                assertEquals(List.of("a", "b"), Files.list(mp.resolve("dup")).map(p -> p.getFileName().toString()).sorted().toList());
            }
            assertEquals(null, Mounts.fsTypeAt(mp), "nothing left mounted, not even the detached corpse at this path");
        } finally {
            child.destroyForcibly();
            if (Mounts.fsTypeAt(mp) != null) {
                Mounts.unmount(mp, true);
            }
        }
    }
}
