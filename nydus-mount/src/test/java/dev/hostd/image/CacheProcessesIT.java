package dev.hostd.image;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Two processes share one host chunk cache while both write, read and evict. */
class CacheProcessesIT {
    @TempDir
    Path tmp;

    @Test
    void twoProcessesNeverSeeWrongOrPartialChunks() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<Process> procs = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            procs.add(new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), CacheStress.class.getName(),
                    tmp.toString(), Integer.toString(i)).redirectErrorStream(true).start());
        }
        for (Process p : procs) {
            String out = new String(p.getInputStream().readAllBytes());
            assertTrue(p.waitFor(120, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue(), out);
            assertTrue(out.contains("ok hits="), out);
        }
        long bytes;
        try (Stream<Path> files = Files.walk(tmp.resolve("chunks"))) {
            List<Path> chunks = files.filter(f -> f.getFileName().toString().length() == 64).toList();
            bytes = chunks.size() * (long) CacheStress.SIZE;
            for (Path c : chunks) {
                assertEquals(CacheStress.SIZE, Files.size(c), "no partial file under a chunk's name");
            }
        }
        assertTrue(bytes <= 2 * 20L * CacheStress.SIZE, "eviction kept the cache near its limit: " + bytes);
    }
}
