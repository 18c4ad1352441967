package dev.hostd.bench.image;

import java.util.Deque;
import java.util.concurrent.ConcurrentLinkedDeque;

/**
 * What the benchmark made that must go away even when the JVM is stopped by a signal (finally
 * blocks do not run then; shutdown hooks do): the namespace and its veth, the registry process,
 * FUSE mounts, the work directory. Closed last-made first.
 */
final class Teardown {
    private static final Deque<AutoCloseable> OPEN = new ConcurrentLinkedDeque<>();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(Teardown::closeAll, "image-bench-teardown"));
    }

    private Teardown() {}

    static <T extends AutoCloseable> T track(T resource) {
        OPEN.push(resource);
        return resource;
    }

    /** Closes one resource now and forgets it. */
    static void close(AutoCloseable resource) throws Exception {
        if (OPEN.remove(resource)) {
            resource.close();
        }
    }

    static void closeAll() {
        AutoCloseable r;
        while ((r = OPEN.poll()) != null) {
            try {
                r.close();
            } catch (Exception e) {
                System.err.println("teardown: " + e);
            }
        }
    }
}
