package dev.hostd.daemon;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Values from /proc files for the host view. */
final class ProcFiles {
    private static final Logger LOG = LoggerFactory.getLogger(ProcFiles.class);

    private ProcFiles() {}

    /** A "Key:   123 kB" line of a /proc file, in bytes; -1 if absent (the host view degrades, it does not fail). */
    static long value(Path file, String key) {
        try {
            for (String line : Files.readAllLines(file)) {
                if (line.startsWith(key)) {
                    String[] parts = line.substring(key.length()).trim().split("\\s+");
                    long v = Long.parseLong(parts[0]);
                    return parts.length > 1 && parts[1].equalsIgnoreCase("kB") ? v * 1024 : v;
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.debug("cannot read {} from {}: {}", key, file, e.toString());
        }
        return -1;
    }
}
