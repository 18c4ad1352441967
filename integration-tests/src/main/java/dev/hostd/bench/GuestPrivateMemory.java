package dev.hostd.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The pages sandboxes wrote into their copy-on-write guest RAM: Private_Dirty of every mapping of
 * the template's memory file, from /proc/self/smaps.
 */
final class GuestPrivateMemory {
    private GuestPrivateMemory() {}

    static long kib(Path templateMemoryFile) throws IOException {
        String name = templateMemoryFile.toString();
        long total = 0;
        boolean inside = false;
        try (var lines = Files.lines(Path.of("/proc/self/smaps"))) {
            for (String line : (Iterable<String>) lines::iterator) {
                if (isHeader(line)) {
                    inside = line.endsWith(name);
                } else if (inside && line.startsWith("Private_Dirty:")) {
                    total += Long.parseLong(line.substring("Private_Dirty:".length()).trim().split("\\s+")[0]);
                }
            }
        }
        return total;
    }

    /** Mapping headers start with "start-end perms"; field lines start with "Name:". */
    private static boolean isHeader(String line) {
        int dash = line.indexOf('-');
        int space = line.indexOf(' ');
        return dash > 0 && space > dash && line.indexOf(':') > space;
    }
}
