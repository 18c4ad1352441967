package dev.hostd.vmm.snapshot;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A snapshot file whose content this hostd cannot use: not a snapshot, another major version,
 * corrupt, truncated or inconsistent. The message always names the file and what is wrong.
 */
public final class SnapshotFormatException extends IOException {
    private final transient Path file;
    private final String problem;

    public SnapshotFormatException(Path file, String problem) {
        super("snapshot " + file + ": " + problem);
        this.file = file;
        this.problem = problem;
    }

    /** The file that was being read. */
    public Path file() {
        return file;
    }

    /** What is wrong with it, without the file name. */
    public String problem() {
        return problem;
    }
}
