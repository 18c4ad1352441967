package dev.hostd.cgroup;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;

/** Threads of this process with known Linux ids, and what /proc says about their cgroups. */
final class TestThreads {
    private TestThreads() {}

    /** A platform thread that parks (or spins) until stopped; its tid is known once started. */
    static final class Worker implements AutoCloseable {
        final Thread thread;
        final int tid;
        private final AtomicBoolean stop = new AtomicBoolean();

        Worker(boolean spin) {
            CompletableFuture<Integer> id = new CompletableFuture<>();
            thread = Thread.ofPlatform().daemon(true).name("cgroup-test-" + (spin ? "spin" : "idle")).start(() -> {
                id.complete(currentTid());
                long sink = 0;
                while (!stop.get()) {
                    if (spin) {
                        sink += System.nanoTime() & 1;
                    } else {
                        java.util.concurrent.locks.LockSupport.parkNanos(5_000_000);
                    }
                }
                if (sink == 42) {
                    System.out.print("");
                }
            });
            tid = id.join();
        }

        @Override
        public void close() throws InterruptedException {
            stop.set(true);
            thread.join();
        }
    }

    /** The calling thread's Linux id: /proc/thread-self links to /proc/PID/task/TID. */
    static int currentTid() {
        try {
            return Integer.parseInt(Path.of("/proc/thread-self").toRealPath().getFileName().toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Lines of /proc/self/task/TID/cgroup. */
    /**
     * Nanoseconds one thread of this process has run on a CPU ({@code /proc/self/task/<tid>/schedstat},
     * first field): the scheduler's own count, the same one cgroup CPU accounting adds up.
     */
    static long runtimeNanos(int tid) {
        try {
            return Long.parseLong(Files.readString(Path.of("/proc/self/task/" + tid + "/schedstat")).trim().split("\\s+")[0]);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<String> cgroupLines(int tid) {
        try {
            return Files.readAllLines(Path.of("/proc/self/task/" + tid + "/cgroup"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Whether thread {@code tid}'s cgroup lines include one ending in {@code procPath} (e.g. ":cpu:/c/g1" or "0::/c/g1"). */
    static boolean in(int tid, String procPath) {
        return cgroupLines(tid).stream().anyMatch(l -> l.endsWith(procPath) && (procPath.startsWith("0::") ? l.equals(procPath) : true));
    }

    /**
     * After a test: if a container is still there (the test failed half-way), moves its threads
     * to the container's parent and removes it. Returns whether anything was left.
     */
    static boolean removeLeftovers(List<Path> containers, String threadsFile) throws IOException {
        boolean left = false;
        for (Path c : containers) {
            if (!Files.isDirectory(c)) {
                continue;
            }
            left = true;
            try (var groups = Files.list(c)) {
                for (Path g : groups.filter(Files::isDirectory).toList()) {
                    for (String tid : Files.readAllLines(g.resolve(threadsFile))) {
                        try {
                            Files.writeString(c.getParent().resolve(threadsFile), tid);
                        } catch (IOException gone) {
                            // the thread ended
                        }
                    }
                    Files.delete(g);
                }
            }
            Files.delete(c);
        }
        return left;
    }

    /** Thread names (comm) of {@code tids}, for messages. */
    static List<String> names(int[] tids) {
        return java.util.Arrays.stream(tids).mapToObj(t -> {
            try {
                return t + "=" + Files.readString(Path.of("/proc/self/task/" + t + "/comm")).trim();
            } catch (IOException e) {
                return t + "=?";
            }
        }).toList();
    }

    static String random() {
        return "hostd-it-" + Long.toHexString(System.nanoTime() & 0xffffffL);
    }

    /** Waits up to 20 s for a condition that another thread makes true (a hang guard, not a timing assertion). */
    static boolean eventually(BooleanSupplier condition) throws InterruptedException {
        return eventually(condition, 20);
    }

    /** Waits up to {@code seconds} for a condition that another thread makes true (a hang guard, not a timing assertion). */
    static boolean eventually(BooleanSupplier condition, int seconds) throws InterruptedException {
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - end > 0) {
                return condition.getAsBoolean();
            }
            Thread.sleep(5);
        }
        return true;
    }
}
