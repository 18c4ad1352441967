package dev.hostd.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Host memory figures from /proc, in KiB. */
final class HostMemory {
    private HostMemory() {}

    static long memAvailableKib() {
        return field(Path.of("/proc/meminfo"), "MemAvailable:");
    }

    /** Proportional set size of this process (shared pages divided among their users). */
    static long pssKib() {
        return field(Path.of("/proc/self/smaps_rollup"), "Pss:");
    }

    static long rssKib() {
        return field(Path.of("/proc/self/smaps_rollup"), "Rss:");
    }

    private static long field(Path file, String name) {
        try {
            for (String line : Files.readAllLines(file)) {
                if (line.startsWith(name)) {
                    return Long.parseLong(line.substring(name.length()).trim().split("\\s+")[0]);
                }
            }
            throw new IllegalStateException(name + " not in " + file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
