package dev.hostd.cgroup;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A temp-dir tree that answers like a cgroup2 hierarchy for the parts {@link CgroupV2} uses: a new
 * group gets its interface files, "threaded" needs a parent without domain controllers, cpu files
 * exist only where the parent enabled cpu, a thread id lives in exactly one cgroup.threads, values
 * out of range are EINVAL, and a group with threads or children cannot be removed (EBUSY).
 */
final class FakeCgroup2Tree implements CgroupFs {
    private static final int ENOENT = -2, EBUSY = -16, EINVAL = -22, EOPNOTSUPP = -95;
    final Path root;

    /** A root with {@code controllers} available and {@code threads} in it. */
    FakeCgroup2Tree(Path root, String controllers, int... threads) throws IOException {
        this.root = root;
        Files.writeString(root.resolve("cgroup.controllers"), controllers);
        Files.writeString(root.resolve("cgroup.subtree_control"), "");
        Files.writeString(root.resolve("cgroup.type"), "domain");
        Files.writeString(root.resolve("cgroup.threads"), ids(threads));
        Files.writeString(root.resolve("cpu.stat"), "usage_usec 0\nuser_usec 0\nsystem_usec 0\n");
    }

    private static String ids(int... tids) {
        return Arrays.stream(tids).mapToObj(Integer::toString).collect(Collectors.joining("\n")) + (tids.length > 0 ? "\n" : "");
    }

    @Override
    public void write(Path file, String value, String hint) {
        if (!Files.exists(file)) {
            throw CgroupException.fromErrno("writing '" + value + "' to " + file, ENOENT, hint);
        }
        String name = file.getFileName().toString();
        Path dir = file.getParent();
        int error = switch (name) {
            case "cgroup.type" -> value.equals("threaded") && !domainControllers(dir.getParent()) ? 0 : EOPNOTSUPP;
            case "cgroup.subtree_control" -> enable(dir, value);
            case "cgroup.threads" -> moveThread(dir, Integer.parseInt(value));
            case "cpu.max" -> value.matches("(max|\\d{4,}) \\d{4,7}") ? 0 : EINVAL;
            case "cpu.weight" -> value.matches("\\d+") && Integer.parseInt(value) >= 1 && Integer.parseInt(value) <= 10_000 ? 0 : EINVAL;
            default -> 0;
        };
        if (error != 0) {
            throw CgroupException.fromErrno("writing '" + value + "' to " + file, error, hint);
        }
        if (!name.equals("cgroup.threads") && !name.equals("cgroup.subtree_control")) {
            put(file, value + "\n");
        }
    }

    private boolean domainControllers(Path dir) {
        String enabled = get(dir.resolve("cgroup.subtree_control"));
        return Arrays.stream(enabled.trim().split("\\s+")).anyMatch(c -> c.equals("memory") || c.equals("io"));
    }

    private int enable(Path dir, String value) {
        String controller = value.substring(1);
        if (!value.startsWith("+") || !List.of(get(dir.resolve("cgroup.controllers")).trim().split("\\s+")).contains(controller)) {
            return ENOENT;
        }
        String now = get(dir.resolve("cgroup.subtree_control")).trim();
        if (!List.of(now.split("\\s+")).contains(controller)) {
            put(dir.resolve("cgroup.subtree_control"), (now.isEmpty() ? controller : now + " " + controller) + "\n");
        }
        return 0;
    }

    private int moveThread(Path dir, int tid) {
        boolean found = false;
        for (Path threads : allThreadFiles()) {
            List<String> ids = new ArrayList<>(List.of(get(threads).trim().split("\\s+")));
            found |= ids.remove(Integer.toString(tid));
            put(threads, ids.stream().filter(s -> !s.isEmpty()).map(s -> s + "\n").collect(Collectors.joining()));
        }
        if (!found) {
            return -3; // ESRCH: not a thread of this process
        }
        put(dir.resolve("cgroup.threads"), get(dir.resolve("cgroup.threads")) + tid + "\n");
        return 0;
    }

    private List<Path> allThreadFiles() {
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(p -> p.getFileName().toString().equals("cgroup.threads")).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public boolean mkdir(Path dir) {
        if (Files.isDirectory(dir)) {
            return false;
        }
        try {
            Files.createDirectory(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        String inherited = get(dir.getParent().resolve("cgroup.subtree_control")).trim();
        put(dir.resolve("cgroup.controllers"), inherited + "\n");
        put(dir.resolve("cgroup.subtree_control"), "");
        put(dir.resolve("cgroup.type"), "domain\n");
        put(dir.resolve("cgroup.threads"), "");
        put(dir.resolve("cpu.stat"), "usage_usec 0\nuser_usec 0\nsystem_usec 0\n");
        if (List.of(inherited.split("\\s+")).contains("cpu")) {
            put(dir.resolve("cpu.max"), "max 100000\n");
            put(dir.resolve("cpu.weight"), "100\n");
        }
        return true;
    }

    @Override
    public boolean rmdir(Path dir) {
        if (!Files.isDirectory(dir)) {
            return false;
        }
        if (!get(dir.resolve("cgroup.threads")).isBlank() || !children(dir).isEmpty()) {
            throw CgroupException.fromErrno("rmdir " + dir, EBUSY, "a cgroup can be removed only without threads or child groups");
        }
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.toList()) {
                Files.delete(p);
            }
            Files.delete(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return true;
    }

    @Override
    public String read(Path file) {
        return get(file);
    }

    @Override
    public boolean exists(Path file) {
        return Files.exists(file);
    }

    @Override
    public List<String> children(Path dir) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isDirectory).map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Test helper: pretend the group's threads ran for {@code usec}. */
    void addUsage(Path dir, long usec) {
        put(dir.resolve("cpu.stat"), "usage_usec " + usec + "\nuser_usec " + usec + "\nsystem_usec 0\n");
    }

    String get(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void put(Path file, String text) {
        try {
            Files.writeString(file, text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
