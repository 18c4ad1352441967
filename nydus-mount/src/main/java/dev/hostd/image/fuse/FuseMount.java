package dev.hostd.image.fuse;

import dev.hostd.image.ImageException;
import dev.hostd.image.backend.ChunkSource;
import dev.hostd.image.internal.MountCalls;
import dev.hostd.image.trace.ReadLog;
import dev.hostd.image.trace.TraceRecorder;

import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Owns one FUSE mount: libfuse's loop runs on its own thread (multithreaded, one worker per
 * concurrent request), the mount is ready when the kernel's mount table shows it, and close()
 * unmounts and waits for the loop to end.
 */
public final class FuseMount implements AutoCloseable {
    public static final String SUBTYPE = "hostd-image";
    private static final System.Logger LOG = System.getLogger(FuseMount.class.getName());
    private static final long READY_TIMEOUT_MS = 15_000;

    private final Path mountpoint;
    private final ImageFs fs;
    private final Thread loop;
    private final CompletableFuture<Void> ended;

    private FuseMount(Path mountpoint, ImageFs fs, Thread loop, CompletableFuture<Void> ended) {
        this.mountpoint = mountpoint;
        this.fs = fs;
        this.loop = loop;
        this.ended = ended;
    }

    /** The mount options: read-only, no setuid or devices, the kernel checks permissions, kernel caches on. */
    static String[] options(String fsName, int cacheSeconds) {
        return new String[]{"-o", "ro,nosuid,nodev,default_permissions,allow_other,use_ino,kernel_cache"
                + ",entry_timeout=" + cacheSeconds + ",attr_timeout=" + cacheSeconds + ",negative_timeout=" + cacheSeconds
                + ",max_read=131072,max_readahead=1048576,fsname=" + fsName + ",subtype=" + SUBTYPE};
    }

    public static FuseMount mount(ChunkSource source, TraceRecorder recorder, ReadLog readLog, Path mountpoint, int cacheSeconds) {
        Path mp = mountpoint.toAbsolutePath().normalize();
        Mounts.prepare(mp);
        ImageFs fs = new ImageFs(source, recorder, readLog);
        String[] opts = options("hostd-image:" + source.bootstrap().digest().hex().substring(0, 12), cacheSeconds);
        CompletableFuture<Void> ended = new CompletableFuture<>();
        Thread loop = new Thread(() -> {
            try {
                fs.mount(mp, true, false, opts);
                ended.complete(null);
            } catch (Throwable t) {
                ended.completeExceptionally(t);
            }
        }, "fuse-" + mp.getFileName());
        loop.setDaemon(true);
        loop.start();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(READY_TIMEOUT_MS);
        while (true) {
            String type = Mounts.fsTypeAt(mp);
            if (type != null && type.equals("fuse." + SUBTYPE)) {
                break;
            }
            if (ended.isDone()) {
                String why = ended.isCompletedExceptionally() ? ended.exceptionNow().toString() : "libfuse returned";
                throw new ImageException("mount " + mp, "EIO", "FUSE mount failed: " + why
                        + " (is /dev/fuse there and libfuse2 installed?)");
            }
            if (System.nanoTime() > deadline) {
                MountCalls.umount2(mp.toString(), MountCalls.MNT_DETACH);
                throw new ImageException("mount " + mp, "ETIMEDOUT", "the mount did not appear in "
                        + READY_TIMEOUT_MS + " ms");
            }
            try {
                Thread.sleep(2);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ImageException("mount " + mp, "EINTR", "interrupted");
            }
        }
        return new FuseMount(mp, fs, loop, ended);
    }

    public Path mountpoint() {
        return mountpoint;
    }

    /** Completes when libfuse's loop ends (unmounted by us or by someone else). */
    public CompletableFuture<Void> ended() {
        return ended;
    }

    @Override
    public void close() {
        fs.stopRecording();
        if (!ended.isDone()) {
            int err = Mounts.unmount(mountpoint, true);
            if (err != 0 && err != 22) { // EINVAL: no longer mounted
                LOG.log(System.Logger.Level.ERROR, "unmount of " + mountpoint + " failed: " + MountCalls.errnoName(err));
            }
        }
        try {
            ended.get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            LOG.log(System.Logger.Level.WARNING, "FUSE loop of " + mountpoint + " did not end cleanly: " + e);
        }
        try {
            loop.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
