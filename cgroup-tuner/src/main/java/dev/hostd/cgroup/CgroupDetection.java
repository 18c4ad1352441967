package dev.hostd.cgroup;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Picks the backend from what the process sees: if the cpu controller is on a cgroup v1 hierarchy
 * (v1 and "hybrid" hosts), v1 — the cpu controller can be on one hierarchy only, so a cgroup2 mount
 * beside it has none; otherwise the cgroup2 mount, with the process's own group as thread root.
 * Reads /proc/self/mountinfo (mount point and super options of each cgroup mount) and
 * /proc/self/cgroup (the process's group in each).
 */
public final class CgroupDetection {
    private CgroupDetection() {}

    /** What was found, before anything is created. */
    public record Found(List<V1HierarchyView> v1, Path v2Mount, String v2Path) {
        public boolean v1HasCpu() {
            return v1.stream().anyMatch(h -> List.of(h.controllers().split(",")).contains("cpu"));
        }

        /**
         * Where the backend {@link #open} picks puts the container {@code name}: below this
         * process's group in the v1 cpu hierarchy, else in cgroup2; unavailable where {@code open}
         * would be.
         */
        public Path containerDirectory(String name) {
            validateName(name);
            if (v1HasCpu()) {
                V1HierarchyView cpu = v1.stream().filter(h -> List.of(h.controllers().split(",")).contains("cpu")).findFirst().orElseThrow();
                return under(cpu.mount(), cpu.home()).resolve(name);
            }
            if (v2Mount == null || v2Path == null) {
                throw CgroupException.unavailable("cgroup detection", "neither a cgroup v1 hierarchy with the cpu controller nor a cgroup2 mount with this process in it");
            }
            return under(v2Mount, v2Path).resolve(name);
        }

        private static Path under(Path mount, String group) {
            return group.equals("/") ? mount : mount.resolve(group.substring(1));
        }
    }

    /** A v1 hierarchy as found (public view of {@link V1Hierarchy}). */
    public record V1HierarchyView(String controllers, Path mount, String home) {}

    public static Found scan() {
        try {
            return parse(Files.readAllLines(Path.of("/proc/self/mountinfo")), Files.readAllLines(Path.of("/proc/self/cgroup")));
        } catch (IOException e) {
            throw CgroupException.unavailable("cgroup detection", "cannot read /proc/self: " + e);
        }
    }

    /** The backend for this host, with the sandbox groups under {@code containerName} (e.g. "hostd-sandboxes"). */
    public static CgroupBackend detect(String containerName) {
        return open(scan(), containerName);
    }

    /** The backend for what {@link #scan()} found (a caller that also needs the scan reads /proc once). */
    public static CgroupBackend open(Found found, String containerName) {
        validateName(containerName);
        if (found.v1HasCpu()) {
            return new CgroupV1(KernelCgroupFs.INSTANCE,
                    found.v1().stream().map(h -> new V1Hierarchy(h.controllers(), h.mount(), h.home())).toList(), containerName);
        }
        if (found.v2Mount() != null && found.v2Path() != null) {
            return openV2(found, containerName);
        }
        throw CgroupException.unavailable("cgroup detection", "neither a cgroup v1 hierarchy with the cpu controller nor a cgroup2 mount with this process in it");
    }

    /** The v2 backend at the cgroup2 mount, whatever v1 has (for tests of v2 placement on hybrid hosts). */
    static CgroupV2 openV2(Found found, String containerName) {
        validateName(containerName);
        if (found.v2Mount() == null || found.v2Path() == null) {
            throw CgroupException.unavailable("cgroup v2", "no cgroup2 mount with this process in it");
        }
        Path base = found.v2Path().equals("/") ? found.v2Mount() : found.v2Mount().resolve(found.v2Path().substring(1));
        return new CgroupV2(KernelCgroupFs.INSTANCE, base, found.v2Path(), containerName);
    }

    static void validateName(String name) {
        if (name == null || !name.matches("[A-Za-z0-9_.-]{1,64}") || name.startsWith(".") || name.startsWith("cgroup.")) {
            throw CgroupException.invalid("cgroup name", "'" + name + "' must be 1-64 of [A-Za-z0-9_.-], not starting with '.' or 'cgroup.'");
        }
    }

    static Found parse(List<String> mountinfo, List<String> procCgroup) {
        Map<String, String> v1Paths = new HashMap<>();
        String v2Path = null;
        for (String line : procCgroup) {
            String[] f = line.split(":", 3);
            if (f.length < 3) {
                continue;
            }
            if (f[0].equals("0") && f[1].isEmpty()) {
                v2Path = f[2];
            } else {
                v1Paths.put(f[1], f[2]);
            }
        }
        List<V1HierarchyView> v1 = new ArrayList<>();
        Path v2Mount = null;
        for (String line : mountinfo) {
            int dash = line.indexOf(" - ");
            if (dash < 0) {
                continue;
            }
            String[] left = line.substring(0, dash).split(" ");
            String[] right = line.substring(dash + 3).split(" ");
            if (left.length < 5 || right.length < 3) {
                continue;
            }
            String root = left[3];
            Path mountPoint = Path.of(unescape(left[4]));
            if (right[0].equals("cgroup2")) {
                v2Mount = mountPoint;
                v2Path = v2Path == null ? null : relative(v2Path, root);
            } else if (right[0].equals("cgroup")) {
                List<String> controllers = new ArrayList<>();
                for (String option : right[2].split(",")) {
                    if (!option.equals("rw") && !option.equals("ro") && !option.contains("=") && !option.equals("noprefix")
                            && !option.equals("clone_children") && !option.equals("xattr") && !option.equals("nsdelegate")) {
                        controllers.add(option);
                    }
                }
                String key = v1Paths.keySet().stream()
                        .filter(k -> List.of(k.split(",")).containsAll(controllers) && controllers.containsAll(List.of(k.split(","))))
                        .findFirst().orElse(null);
                if (key != null && !controllers.isEmpty()) {
                    v1.add(new V1HierarchyView(key, mountPoint, relative(v1Paths.get(key), root)));
                }
            }
        }
        return new Found(List.copyOf(v1), v2Mount, v2Path);
    }

    /** The group path relative to the mount's root (a mount of a sub-tree, e.g. in a container, shows its root). */
    private static String relative(String path, String mountRoot) {
        if (mountRoot.equals("/") || !path.startsWith(mountRoot)) {
            return path;
        }
        String rest = path.substring(mountRoot.length());
        return rest.isEmpty() ? "/" : rest;
    }

    /** mountinfo escapes space, tab, newline and backslash as octal. */
    private static String unescape(String s) {
        return s.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\");
    }
}
