package dev.hostd.daemon;

import io.micronaut.context.ApplicationContext;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Stream;

/** Temp directories (one under /dev/shm for templates) and /proc helpers shared by the tests. */
final class TestDirs implements AutoCloseable {
    final Path base;
    final Path socket;
    final Path state;
    final Path templatesRoot;

    TestDirs(String name) throws IOException {
        base = Files.createTempDirectory("hostd-" + name + "-");
        socket = base.resolve("run/hostd.sock");
        state = base.resolve("state");
        templatesRoot = Path.of("/dev/shm/hostd-test-" + name + "-" + UUID.randomUUID());
    }

    @Override
    public void close() {
        deleteTree(base);
        deleteTree(templatesRoot);
    }

    /** A daemon's settings that point it at these directories (socket, state, templates); a mutable map to add to. */
    Map<String, Object> daemonProperties() {
        Map<String, Object> p = new HashMap<>();
        p.put("hostd.socket.path", socket.toString());
        p.put("hostd.state-dir", state.toString());
        p.put("hostd.templates.root", templatesRoot.toString());
        return p;
    }

    /** A test class's daemon, its client and these directories, closed in that order even if one fails. */
    static void stopAll(ApplicationContext context, UdsHttpClient client, TestDirs dirs) {
        try {
            if (context != null && context.isRunning()) {
                context.close();
            }
        } finally {
            if (client != null) {
                client.close();
            }
            if (dirs != null) {
                dirs.close();
            }
        }
    }

    static void deleteTree(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            System.err.println("could not clean " + dir + ": " + e);
        }
    }

    /** Socket inodes of a process's open fds. */
    static Set<String> socketInodes(long pid) throws IOException {
        Set<String> inodes = new HashSet<>();
        try (Stream<Path> fds = Files.list(Path.of("/proc/" + pid + "/fd"))) {
            for (Path fd : fds.toList()) {
                try {
                    String target = Files.readSymbolicLink(fd).toString();
                    if (target.startsWith("socket:[")) {
                        inodes.add(target.substring(8, target.length() - 1));
                    }
                } catch (IOException ignored) { // fd closed meanwhile
                }
            }
        }
        return inodes;
    }

    /** TCP sockets in LISTEN state (st 0A) held by {@code pid}, as "local_address inode" lines of /proc/net/tcp{,6}. */
    static List<String> tcpListeners(long pid) throws IOException {
        Set<String> inodes = socketInodes(pid);
        List<String> found = new java.util.ArrayList<>();
        for (String table : List.of("tcp", "tcp6")) {
            Path f = Path.of("/proc/" + pid + "/net/" + table);
            if (!Files.exists(f)) {
                continue;
            }
            for (String line : Files.readAllLines(f).subList(1, Files.readAllLines(f).size())) {
                String[] c = line.trim().split("\\s+");
                if (c.length > 9 && c[3].equals("0A") && inodes.contains(c[9])) {
                    found.add(table + " " + c[1] + " inode " + c[9]);
                }
            }
        }
        return found;
    }

    /** The file type and permission bits of a path (st_mode). */
    static int mode(Path p) throws IOException {
        return (Integer) Files.getAttribute(p, "unix:mode");
    }
}
