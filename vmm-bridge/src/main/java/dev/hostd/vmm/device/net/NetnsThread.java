package dev.hostd.vmm.device.net;

import dev.hostd.vmm.VmmException;
import dev.hostd.vmm.internal.linux.Libc;
import dev.hostd.vmm.internal.linux.NetLibc;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * Runs a short task inside a network namespace. Sockets and TAP devices belong to the namespace
 * of the thread that creates them and stay there whatever thread uses them later, so a task that
 * opens one here hands back an fd or channel that lives in {@code netns}. The task runs on a fresh
 * platform thread that enters the namespace with setns and is discarded afterwards: no pooled
 * thread is ever left in the wrong namespace.
 */
public final class NetnsThread {
    private NetnsThread() {}

    /** Calls {@code task} on a new thread inside the namespace {@code netns} (e.g. {@code /run/netns/x}). */
    public static <T> T call(Path netns, Callable<T> task) {
        CompletableFuture<T> result = new CompletableFuture<>();
        Thread t = Thread.ofPlatform().daemon(true).name("netns-task").unstarted(() -> {
            int fd = -1;
            try {
                fd = Libc.open(netns.toString(), Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
                NetLibc.setns(fd, NetLibc.CLONE_NEWNET, "setns " + netns);
                result.complete(task.call());
            } catch (Throwable e) {
                result.completeExceptionally(e);
            } finally {
                if (fd >= 0) {
                    Libc.close(fd);
                }
            }
        });
        t.start();
        try {
            return result.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new VmmException(VmmException.Kind.INTERNAL, "netns task", "interrupted waiting for a task in " + netns);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new VmmException(VmmException.Kind.INTERNAL, "netns task", "task in " + netns + " failed: " + e.getCause(), e.getCause());
        }
    }
}
