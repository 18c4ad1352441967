package dev.hostd.cgroup;

import java.nio.file.Path;
import java.util.List;

/**
 * One mounted cgroup v1 hierarchy: its controllers (as /proc/self/cgroup names them, e.g.
 * "cpu,cpuacct"), where it is mounted, and the process's own group in it ("home").
 */
record V1Hierarchy(String controllers, Path mount, String home) {
    boolean has(String controller) {
        return List.of(controllers.split(",")).contains(controller);
    }

    /** The home group's directory. */
    Path homeDir() {
        return home.equals("/") ? mount : mount.resolve(home.substring(1));
    }
}
