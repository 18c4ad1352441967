package dev.hostd.image;

import dev.hostd.image.format.Bootstrap;
import dev.hostd.image.trace.Trace;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Real FUSE mounts of a converted image from a local blob directory. */
class FuseMountIT {
    @TempDir
    static Path tmp;
    static List<Path> layers;
    static Path imageDir;
    static Path reference;

    @BeforeAll
    static void convert() throws Exception {
        FuseSupport.assumeFuse();
        layers = SampleImage.write(tmp.resolve("oci"), SampleImage.BIG_MIB);
        imageDir = tmp.resolve("image");
        ImageConverter.convert(tmp.resolve("oci"), imageDir, ImageConverter.Options.defaults());
        reference = tmp.resolve("reference");
        TreeCompare.unpackWithTar(layers, reference);
    }

    @AfterAll
    static void noMountsLeft() throws IOException {
        if (tmp != null) {
            assertFalse(Files.readString(Path.of("/proc/self/mountinfo")).contains(tmp.toString()), "every mount undone");
        }
    }

    static Path mountpoint(String name) throws IOException {
        return Files.createDirectories(tmp.resolve("mnt-" + name));
    }

    static ImageMount mountLocal(Path mp, MountOptions options) {
        return ImageMount.mount(new ImageSource.Local(imageDir, null), mp, options);
    }

    @Test
    void wholeTreeMatchesTheLayersUnpackedByTar() throws Throwable {
        Path mp = mountpoint("tree");
        try (ImageMount m = mountLocal(mp, MountOptions.defaults().withCache(tmp.resolve("cache-tree"), 1L << 30))) {
            TreeCompare.assertSameTree(reference, mp);
            // What the comparison covers, spelled out: overwritten file, whiteout, opaque dir, links, device.
            assertEquals("overwritten\n", Files.readString(mp.resolve("etc/hostname")));
            assertFalse(Files.exists(mp.resolve("etc/removed.conf")));
            assertFalse(Files.exists(mp.resolve("var/cache/old1")));
            assertEquals("tool", Files.readSymbolicLink(mp.resolve("usr/bin/tool-link")).toString());
            assertEquals(Files.getAttribute(mp.resolve("usr/bin/tool"), "unix:ino"),
                    Files.getAttribute(mp.resolve("usr/bin/tool-alias"), "unix:ino"));
            assertEquals(04755, (Integer) Files.getAttribute(mp.resolve("usr/bin/tool"), "unix:mode") & 07777);
            assertEquals((1L << 8) | 3, ((Number) Files.getAttribute(mp.resolve("dev/null"), "unix:rdev",
                    java.nio.file.LinkOption.NOFOLLOW_LINKS)).longValue());
            assertEquals("kept", new String(Xattrs.get(mp.resolve("usr/bin/text"), "trusted.note"), StandardCharsets.UTF_8));
            FileSystemException ro = assertThrows(FileSystemException.class,
                    () -> Files.writeString(mp.resolve("etc/hostname"), "x"));
            assertTrue(ro.getMessage().contains("Read-only"), ro.getMessage());
            String opts = Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
                    .filter(l -> l.contains(" " + mp + " ")).findFirst().orElseThrow();
            assertTrue(opts.contains("ro,nosuid,nodev"), opts);
            assertTrue(opts.contains("default_permissions") && opts.contains("allow_other"), opts);
        }
    }

    @Test
    void concurrentReadersOfALargeFileGetTheRightBytes() throws Exception {
        Path mp = mountpoint("concurrent");
        byte[] expected = SampleImage.random(99, SampleImage.BIG_MIB << 20);
        try (ImageMount m = mountLocal(mp, MountOptions.defaults().withCache(tmp.resolve("cache-conc"), 1L << 30));
             ExecutorService pool = Executors.newFixedThreadPool(8)) {
            Path big = mp.resolve("data/big.bin");
            List<Future<?>> readers = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int seed = t;
                readers.add(pool.submit(() -> {
                    java.util.Random r = new java.util.Random(seed);
                    byte[] buf = new byte[300_000];
                    try (RandomAccessFile f = new RandomAccessFile(big.toFile(), "r")) {
                        for (int i = 0; i < 40; i++) {
                            long off = (long) r.nextInt(expected.length - buf.length);
                            f.seek(off);
                            f.readFully(buf);
                            assertArrayEquals(Arrays.copyOfRange(expected, (int) off, (int) off + buf.length), buf);
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : readers) {
                f.get();
            }
            assertEquals(TreeCompare.sha256(reference.resolve("data/big.bin")), TreeCompare.sha256(big));
            assertTrue(m.stats().fetchedChunks() <= m.image().chunks().size(), "no chunk fetched twice");
        }
    }

    @Test
    void firstMountRecordsATraceAndTheNextPrefetchesIt() throws Exception {
        Path work = tmp.resolve("trace-image");
        ImageConverter.convert(tmp.resolve("oci"), work, ImageConverter.Options.defaults());
        Path mp = mountpoint("trace");
        ImageSource src = new ImageSource.Local(work, null);
        try (ImageMount m = ImageMount.mount(src, mp, MountOptions.defaults().withTrace(true, true))) {
            Files.readAllBytes(mp.resolve("usr/bin/text"));
            Files.readAllBytes(mp.resolve("etc/hostname"));
        }
        Bootstrap b = Bootstrap.read(work.resolve("bootstrap"));
        Trace trace = Trace.read(work.resolve("trace"), b);
        int[] text = b.node(b.lookup("/usr/bin/text")).chunks();
        assertEquals(text.length + 1, trace.chunks().length);
        // The kernel's read-ahead and the synchronous read of the next chunk can reach two FUSE threads at
        // once, so neighbours may swap; what the trace promises is every chunk of text, before hostname's.
        int[] tracedText = Arrays.copyOf(trace.chunks(), text.length);
        int[] sortedText = text.clone();
        Arrays.sort(tracedText);
        Arrays.sort(sortedText);
        assertArrayEquals(sortedText, tracedText, "the chunks of usr/bin/text, each once, before the next file's");
        assertEquals(b.node(b.lookup("/etc/hostname")).chunks()[0], trace.chunks()[text.length], "then etc/hostname's");

        try (ImageMount m = ImageMount.mount(src, mp, MountOptions.defaults().withCache(tmp.resolve("cache-trace"), 1L << 30))) {
            assertTrue(m.prefetcher() != null && m.prefetcher().awaitDone(30_000));
            long fetched = m.stats().requests();
            assertTrue(m.stats().fetchedChunks() >= trace.chunks().length, "prefetched every traced chunk");
            assertEquals(TreeCompare.sha256(reference.resolve("usr/bin/text")), TreeCompare.sha256(mp.resolve("usr/bin/text")));
            assertEquals("overwritten\n", Files.readString(mp.resolve("etc/hostname")));
            assertEquals(fetched, m.stats().requests(), "the traced files were read with no further fetch");
        }
    }

    @Test
    void malformedBootstrapIsRefusedAndNothingIsMounted() throws Exception {
        Path bad = tmp.resolve("bad-image");
        Files.createDirectories(bad);
        byte[] bytes = Files.readAllBytes(imageDir.resolve("bootstrap"));
        Files.write(bad.resolve("bootstrap"), Arrays.copyOf(bytes, bytes.length - 7));
        Path mp = mountpoint("bad");
        ImageException e = assertThrows(ImageException.class,
                () -> ImageMount.mount(new ImageSource.Local(bad, imageDir.resolve("blobs")), mp, MountOptions.defaults()));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
        assertEquals(null, dev.hostd.image.fuse.Mounts.fsTypeAt(mp));
    }
}
