package dev.hostd.cgroup;

import java.nio.file.Path;
import java.util.List;

/**
 * The file operations the backends make on a cgroup hierarchy. The kernel's ({@link KernelCgroupFs})
 * for real; a test gives a temp-dir tree that behaves like cgroupfs to check a backend's logic
 * where the real hierarchy is not there (cgroup v2 with controllers, on these v1 hosts).
 */
interface CgroupFs {
    /** Writes {@code value} to an existing cgroup file in one write; {@code hint} goes into the error. */
    void write(Path file, String value, String hint);

    /** Creates a group; false if it existed. */
    boolean mkdir(Path dir);

    /** Removes an empty group (no threads, no children); false if it was gone already. */
    boolean rmdir(Path dir);

    String read(Path file);

    boolean exists(Path file);

    /** Names of the child groups of {@code dir}; empty if it does not exist. */
    List<String> children(Path dir);
}
