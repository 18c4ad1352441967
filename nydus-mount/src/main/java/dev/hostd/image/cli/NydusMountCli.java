package dev.hostd.image.cli;

import dev.hostd.image.ImageConverter;
import dev.hostd.image.ImageException;
import dev.hostd.image.ImageMount;
import dev.hostd.image.ImageRegistry;
import dev.hostd.image.ImageSource;
import dev.hostd.image.MountOptions;
import dev.hostd.image.format.BlobInfo;
import dev.hostd.image.format.Bootstrap;
import dev.hostd.image.format.Node;
import dev.hostd.image.fuse.Mounts;
import dev.hostd.image.internal.MountCalls;
import dev.hostd.image.trace.Trace;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/** {@code nydus-mount convert | push | mount | umount | inspect | trace}: see docs/image-format.md. */
@Command(name = "nydus-mount", mixinStandardHelpOptions = true, version = "nydus-mount 0.1.0",
        description = "Lazily loaded function images over FUSE.",
        subcommands = {NydusMountCli.Convert.class, NydusMountCli.Push.class, NydusMountCli.MountCmd.class,
                NydusMountCli.Umount.class, NydusMountCli.Inspect.class, NydusMountCli.TraceCmd.class})
public final class NydusMountCli {
    public static void main(String[] args) {
        CommandLine cli = new CommandLine(new NydusMountCli());
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof ImageException) {
                cmd.getErr().println("nydus-mount: " + e.getMessage());
                return 1;
            }
            throw e;
        });
        System.exit(cli.execute(args));
    }

    @Command(name = "convert", description = "Convert an OCI image layout directory into an image directory.")
    static final class Convert implements Callable<Integer> {
        @Parameters(index = "0", description = "OCI image layout directory (oci-layout, index.json, blobs/)")
        Path layout;
        @Parameters(index = "1", description = "image directory to write (bootstrap, blobs/)")
        Path imageDir;
        @Option(names = "--chunk-size", description = "maximum chunk size in bytes (default ${DEFAULT-VALUE})")
        int chunkSize = ImageConverter.DEFAULT_CHUNK_SIZE;
        @Option(names = "--lz4-level", description = "0: LZ4 fast; 3..12: LZ4HC at that level (smaller blobs, slower conversion; default ${DEFAULT-VALUE})")
        int lz4Level = ImageConverter.DEFAULT_LZ4_LEVEL;
        @Option(names = "--blob-dir", description = "blob directory (default <image-dir>/blobs); share it between images to dedupe")
        Path blobDir;
        @Option(names = "--dedup-with", description = "image directory whose chunks are reused, not stored again")
        List<Path> dedupWith = new ArrayList<>();
        @Option(names = "--ref", description = "org.opencontainers.image.ref.name to pick from a multi-image index")
        String ref;

        @Override
        public Integer call() {
            List<Bootstrap> others = dedupWith.stream().map(d -> Bootstrap.read(d.resolve(Bootstrap.FILE_NAME))).toList();
            long t0 = System.nanoTime();
            ImageConverter.Result r = ImageConverter.convert(layout, imageDir,
                    new ImageConverter.Options(chunkSize, blobDir, others, ref, lz4Level));
            System.out.printf("converted %d tar entries into %d nodes, %d chunks (%d stored, %d bytes reused) in %.1f s%n",
                    r.entries(), r.bootstrap().nodes().size(), r.bootstrap().chunks().size(), r.storedChunks(),
                    r.reusedBytes(), (System.nanoTime() - t0) / 1e9);
            System.out.println("bootstrap " + r.bootstrapFile() + " " + r.bootstrap().digest());
            return 0;
        }
    }

    @Command(name = "push", description = "Push an image directory's blobs, bootstrap and manifest to an OCI registry.")
    static final class Push implements Callable<Integer> {
        @Parameters(index = "0", description = "image directory")
        Path imageDir;
        @Option(names = "--blob-dir")
        Path blobDir;
        @Option(names = "--registry", required = true, description = "e.g. http://198.18.0.2:5000")
        URI registry;
        @Option(names = "--repository", required = true)
        String repository;
        @Option(names = "--tag", required = true)
        String tag;

        @Override
        public Integer call() {
            System.out.println("pushed " + repository + ":" + tag + " manifest "
                    + ImageRegistry.push(imageDir, blobDir, registry, repository, tag));
            return 0;
        }
    }

    @Command(name = "mount", description = "Mount an image read-only and serve it until unmounted or stopped (SIGTERM/SIGINT).")
    static final class MountCmd implements Callable<Integer> {
        @Parameters(index = "0", description = "mount point (an existing directory)")
        Path mountpoint;
        @Option(names = "--image", description = "local image directory")
        Path imageDir;
        @Option(names = "--blob-dir")
        Path blobDir;
        @Option(names = "--registry")
        URI registry;
        @Option(names = "--repository")
        String repository;
        @Option(names = "--reference", description = "tag or sha256 digest of the manifest")
        String reference;
        @Option(names = "--work-dir", description = "where a registry image's bootstrap and trace are kept (default ${DEFAULT-VALUE})")
        Path workDir = Path.of("/var/lib/hostd/images");
        @Option(names = "--cache-dir", description = "host chunk cache shared by all mounts")
        Path cacheDir;
        @Option(names = "--cache-size-mib", description = "chunk cache limit (default ${DEFAULT-VALUE})")
        long cacheMib = 10240;
        @Option(names = "--record-trace", description = "record the chunks read and store them as the image's trace at unmount")
        boolean record;
        @Option(names = "--no-prefetch", description = "do not prefetch the image's trace")
        boolean noPrefetch;

        @Override
        public Integer call() throws InterruptedException {
            ImageSource source;
            if (imageDir != null) {
                source = new ImageSource.Local(imageDir, blobDir);
            } else if (registry != null && repository != null && reference != null) {
                source = new ImageSource.Registry(registry, repository, reference, workDir);
            } else {
                throw new ImageException("mount", "EINVAL", "give --image <dir>, or --registry, --repository and --reference");
            }
            MountOptions options = MountOptions.defaults().withTrace(record, !noPrefetch);
            if (cacheDir != null) {
                options = options.withCache(cacheDir, cacheMib << 20);
            }
            ImageMount mount = ImageMount.mount(source, mountpoint, options);
            CountDownLatch stop = new CountDownLatch(1);
            Thread hook = new Thread(() -> {
                mount.close();
                stop.countDown();
            }, "nydus-mount-stop");
            Runtime.getRuntime().addShutdownHook(hook);
            System.out.println("mounted " + mount.image().digest() + " at " + mountpoint);
            System.out.flush();
            // Serve until someone unmounts it (nydus-mount umount) or the process is stopped.
            while (stop.getCount() > 0 && Mounts.fsTypeAt(mountpoint.toAbsolutePath().normalize()) != null) {
                Thread.sleep(500);
            }
            mount.close();
            return 0;
        }
    }

    @Command(name = "umount", description = "Unmount an image (lazily when busy, or when --lazy).")
    static final class Umount implements Callable<Integer> {
        @Parameters(index = "0")
        Path mountpoint;
        @Option(names = "--lazy", description = "detach now even if busy (MNT_DETACH)")
        boolean lazy;

        @Override
        public Integer call() {
            String p = mountpoint.toAbsolutePath().normalize().toString();
            int err = lazy ? MountCalls.umount2(p, MountCalls.MNT_DETACH) : Mounts.unmount(Path.of(p), true);
            if (err != 0) {
                throw new ImageException("umount " + p, MountCalls.errnoName(err), "is it mounted?");
            }
            return 0;
        }
    }

    @Command(name = "inspect", description = "Validate a bootstrap and print what it holds.")
    static final class Inspect implements Callable<Integer> {
        @Parameters(index = "0", description = "image directory or bootstrap file")
        Path path;
        @Option(names = "--files", description = "list every path with its mode, size and chunk count")
        boolean files;

        @Override
        public Integer call() {
            Path file = Files.isDirectory(path) ? path.resolve(Bootstrap.FILE_NAME) : path;
            Bootstrap b = Bootstrap.read(file);
            long stored = b.chunks().stream().mapToLong(c -> c.storedSize()).sum();
            long lz4 = b.chunks().stream().filter(c -> c.lz4()).count();
            System.out.println("bootstrap   " + file + " (valid)");
            System.out.println("digest      " + b.digest());
            System.out.println("chunk size  " + b.chunkSize());
            System.out.println("nodes       " + b.nodes().size());
            System.out.printf("chunks      %d (%d LZ4, %d raw), %d bytes of data, %d stored%n", b.chunks().size(), lz4,
                    b.chunks().size() - lz4, b.uncompressedBytes(), stored);
            for (BlobInfo blob : b.blobs()) {
                System.out.println("blob        " + blob.digest() + " " + blob.size() + " bytes");
            }
            if (files) {
                walk(b, Bootstrap.ROOT, "", new HashSet<>());
            }
            return 0;
        }

        private static void walk(Bootstrap b, int dir, String prefix, Set<Integer> seen) {
            for (Node.DirEntry e : b.node(dir).entries()) {
                Node n = b.node(e.node());
                String p = prefix + "/" + e.name();
                System.out.printf("%06o %5d:%-5d %12d %4d %s%s%n", n.mode(), n.uid(), n.gid(), n.size(),
                        n.chunks() == null ? 0 : n.chunks().length, p, n.isSymlink() ? " -> " + n.linkTarget() : "");
                if (n.isDirectory()) {
                    walk(b, e.node(), p, seen);
                }
            }
        }
    }

    @Command(name = "trace", description = "Print an image's recorded trace (chunks in prefetch order).")
    static final class TraceCmd implements Callable<Integer> {
        @Parameters(index = "0", description = "image directory (holding bootstrap and trace)")
        Path imageDir;

        @Override
        public Integer call() {
            Bootstrap b = Bootstrap.read(imageDir.resolve(Bootstrap.FILE_NAME));
            Path file = imageDir.resolve(Trace.FILE_NAME);
            if (!Files.isRegularFile(file)) {
                throw new ImageException("trace " + imageDir, "ENOENT", "no trace yet; mount once with --record-trace");
            }
            Trace t = Trace.read(file, b);
            long bytes = 0;
            for (int c : t.chunks()) {
                bytes += b.chunks().get(c).size();
            }
            System.out.printf("trace of %s: %d of %d chunks, %d of %d bytes (%.1f%%)%n", b.digest(), t.chunks().length,
                    b.chunks().size(), bytes, b.uncompressedBytes(), 100.0 * bytes / Math.max(1, b.uncompressedBytes()));
            for (int c : t.chunks()) {
                System.out.println(c + " " + b.chunks().get(c).digest() + " " + b.chunks().get(c).size());
            }
            return 0;
        }
    }
}
