package dev.hostd.image;

import dev.hostd.image.backend.BlobBackend;
import dev.hostd.image.backend.ChunkSource;
import dev.hostd.image.backend.LocalBackend;
import dev.hostd.image.backend.RegistryBackend;
import dev.hostd.image.cache.ChunkCache;
import dev.hostd.image.cache.MemoryCache;
import dev.hostd.image.format.Bootstrap;
import dev.hostd.image.fuse.FuseMount;
import dev.hostd.image.trace.Prefetcher;
import dev.hostd.image.trace.ReadLog;
import dev.hostd.image.trace.Trace;
import dev.hostd.image.trace.TraceRecorder;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A mounted image: read-only FUSE at a mount point, chunks fetched on demand. {@link #close()}
 * unmounts, stops prefetching and (when recording) stores the trace beside the bootstrap. The one
 * owner of the mount: hostd keeps this object for as long as a sandbox uses the image.
 */
public final class ImageMount implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(ImageMount.class.getName());

    private final Path mountpoint;
    private final Path imageDir;
    private final ChunkSource source;
    private final FuseMount fuse;
    private final TraceRecorder recorder;
    private final Prefetcher prefetcher;
    private final ReadLog readLog;
    private boolean closed;

    private ImageMount(Path mountpoint, Path imageDir, ChunkSource source, FuseMount fuse, TraceRecorder recorder,
                       Prefetcher prefetcher, ReadLog readLog) {
        this.mountpoint = mountpoint;
        this.imageDir = imageDir;
        this.source = source;
        this.fuse = fuse;
        this.recorder = recorder;
        this.prefetcher = prefetcher;
        this.readLog = readLog;
    }

    public static ImageMount mount(ImageSource from, Path mountpoint, MountOptions options) {
        Path imageDir;
        BlobBackend backend;
        switch (from) {
            case ImageSource.Local l -> {
                imageDir = l.imageDir();
                backend = new LocalBackend(l.blobDir() != null ? l.blobDir() : l.imageDir().resolve("blobs"));
            }
            case ImageSource.Registry r -> {
                imageDir = ImageRegistry.fetchBootstrap(r);
                backend = new RegistryBackend(ImageRegistry.client(r));
            }
        }
        Bootstrap image = Bootstrap.read(imageDir.resolve(Bootstrap.FILE_NAME));
        ChunkCache cache = options.cacheDir() == null ? null : new ChunkCache(options.cacheDir(), options.cacheMaxBytes());
        ChunkSource source = new ChunkSource(image, backend, cache, new MemoryCache(options.memoryBytes()), options.fetch());
        Trace trace = null;
        Path traceFile = imageDir.resolve(Trace.FILE_NAME);
        if (options.prefetch() && Files.isRegularFile(traceFile)) {
            try {
                trace = Trace.read(traceFile, image);
            } catch (ImageException e) {
                LOG.log(System.Logger.Level.WARNING, "ignoring trace: " + e.getMessage());
            }
        }
        TraceRecorder recorder = options.recordTrace() ? new TraceRecorder(image.digest()) : null;
        ReadLog readLog = options.logReads() ? new ReadLog() : null;
        FuseMount fuse;
        try {
            fuse = FuseMount.mount(source, recorder, readLog, mountpoint, options.cacheSeconds());
        } catch (RuntimeException e) {
            source.close();
            throw e;
        }
        Prefetcher prefetcher = trace == null ? null : new Prefetcher(source, trace, options.prefetchThreads());
        return new ImageMount(mountpoint, imageDir, source, fuse, recorder, prefetcher, readLog);
    }

    public Path mountpoint() {
        return mountpoint;
    }

    /** The directory holding the bootstrap (and the trace). */
    public Path imageDir() {
        return imageDir;
    }

    public Bootstrap image() {
        return source.bootstrap();
    }

    public ChunkSource.Stats stats() {
        return source.stats();
    }

    /** The prefetcher of this mount, or null when there was no trace or prefetch is off. */
    public Prefetcher prefetcher() {
        return prefetcher;
    }

    /** Every FUSE read so far, or null unless mounted {@link MountOptions#withReadLog with a read log}. */
    public ReadLog readLog() {
        return readLog;
    }

    /** Stores the trace recorded so far (also done by close). */
    public Trace saveTrace() {
        if (recorder == null) {
            throw new ImageException("save trace", "EINVAL", "this mount does not record a trace");
        }
        Trace t = recorder.snapshot();
        t.write(imageDir.resolve(Trace.FILE_NAME));
        return t;
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            if (prefetcher != null) {
                prefetcher.close();
            }
            if (recorder != null) {
                saveTrace();
            }
        } finally {
            try {
                fuse.close();
            } finally {
                source.close();
            }
        }
    }
}
