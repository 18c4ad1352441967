package dev.hostd.image;

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadFactory;

/**
 * Waits for reader threads to be parked where a test wants them (on a chunk's in-flight fetch, or at
 * the test backend's gate) instead of sleeping and hoping they got there: a reader that arrived after
 * the fetch would find the chunk cached and the test would prove nothing.
 */
final class Blocked {
    private Blocked() {}

    /** A thread factory that keeps the threads it makes, for {@link #awaitParked}. */
    static final class Recording implements ThreadFactory {
        final List<Thread> threads = new CopyOnWriteArrayList<>();

        @Override
        public Thread newThread(Runnable r) {
            Thread t = Thread.ofPlatform().daemon(true).unstarted(r);
            threads.add(t);
            return t;
        }
    }

    /**
     * Waits (a 20 s hang guard) until each of {@code threads} is WAITING in {@code CompletableFuture.get}
     * or {@code CountDownLatch.await}; throws if they are not.
     */
    static void awaitParked(List<Thread> threads, int count) throws InterruptedException {
        long end = System.nanoTime() + 20_000_000_000L;
        while (!(threads.size() == count && threads.stream().allMatch(Blocked::parkedOnFetchOrGate))) {
            if (System.nanoTime() - end > 0) {
                throw new AssertionError("readers not parked on the fetch or the gate: "
                        + threads.stream().map(t -> t.getName() + " " + t.getState() + " " + Arrays.toString(t.getStackTrace())).toList());
            }
            Thread.sleep(5);
        }
    }

    private static boolean parkedOnFetchOrGate(Thread t) {
        return t.getState() == Thread.State.WAITING && Arrays.stream(t.getStackTrace()).anyMatch(f ->
                f.getClassName().equals("java.util.concurrent.CompletableFuture") && f.getMethodName().equals("get")
                        || f.getClassName().equals("java.util.concurrent.CountDownLatch") && f.getMethodName().equals("await"));
    }
}
