package dev.hostd.net.internal;

import dev.hostd.net.NetException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * A platform thread that has entered one network namespace and runs tasks there. setns(2) moves
 * only the calling OS thread, so everything that binds an object to "the current namespace"
 * (opening /dev/net/tun, netlink and nftables sockets, /proc/sys/net) runs on this thread; the
 * rest of the JVM stays in hostd's own namespace. Must be a platform thread: a virtual thread
 * could move to another carrier between setns and the call.
 */
public final class NetnsThread implements AutoCloseable {
    private final String namespace;
    private final ExecutorService executor;

    private NetnsThread(String namespace, ExecutorService executor) {
        this.namespace = namespace;
        this.executor = executor;
    }

    /** Starts a thread in the namespace mounted at /run/netns/{@code name}. */
    public static NetnsThread enter(String name) {
        ExecutorService executor = Executors.newSingleThreadExecutor(r -> {
            Thread t = Thread.ofPlatform().name("netns-" + name).daemon().unstarted(r);
            return t;
        });
        NetnsThread thread = new NetnsThread(name, executor);
        try {
            thread.call(() -> {
                int fd = Libc.open(Path.of("/run/netns", name).toString(), 0);
                try {
                    Libc.setns(fd, "netns " + name);
                } finally {
                    Libc.close(fd);
                }
                return null;
            });
        } catch (RuntimeException e) {
            executor.shutdownNow();
            throw e;
        }
        return thread;
    }

    public String namespace() {
        return namespace;
    }

    /** Runs {@code task} on the namespace thread and waits for it; its exception is rethrown. */
    public <T> T call(Callable<T> task) {
        Future<T> future = executor.submit(task);
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new NetException("netns " + namespace, "interrupted while waiting for the namespace thread", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw new NetException("netns " + namespace, "task failed in namespace " + namespace + ": " + cause, cause);
        }
    }

    /** Queues {@code task} without waiting (pool refills); failures are the task's to handle. */
    public void post(Runnable task) {
        try {
            executor.execute(task);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // closing: nothing left to refill
        }
    }

    /** Ends the thread (and with it this process's hold on the namespace) after queued tasks. */
    @Override
    public void close() {
        executor.shutdown();
        try {
            if (!executor.awaitTermination(10, TimeUnit.SECONDS)) {
                executor.shutdownNow();
            }
        } catch (InterruptedException e) {
            executor.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
