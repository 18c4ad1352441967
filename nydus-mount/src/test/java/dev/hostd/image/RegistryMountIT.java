package dev.hostd.image;

import dev.hostd.image.backend.FetchPolicy;
import dev.hostd.image.format.Bootstrap;
import dev.hostd.image.format.ChunkInfo;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Push to a real registry (in a namespace of the test's own) and mount from it with range requests. */
class RegistryMountIT {
    @TempDir
    static Path tmp;
    static TestRegistry registry;
    static Path imageDir;
    static Path reference;
    static Bootstrap image;

    @BeforeAll
    static void setUp() throws Exception {
        FuseSupport.assumeFuse();
        TestRegistry.assumeAvailable();
        List<Path> layers = SampleImage.write(tmp.resolve("oci"), 8);
        imageDir = tmp.resolve("image");
        image = ImageConverter.convert(tmp.resolve("oci"), imageDir, ImageConverter.Options.defaults()).bootstrap();
        reference = tmp.resolve("reference");
        TreeCompare.unpackWithTar(layers, reference);
        registry = new TestRegistry(tmp);
        ImageRegistry.push(imageDir, null, registry.uri(), "functions/sample", "v1");
    }

    @AfterAll
    static void tearDown() throws Exception {
        if (registry != null) {
            registry.close();
        }
    }

    static ImageMount mount(String name, MountOptions options) throws IOException {
        Path mp = Files.createDirectories(tmp.resolve("mnt-" + name));
        return ImageMount.mount(new ImageSource.Registry(registry.uri(), "functions/sample", "v1", tmp.resolve("work-" + name)),
                mp, options);
    }

    static MountOptions quickRetries() {
        return MountOptions.defaults().withTrace(false, false)
                .withFetch(new FetchPolicy(8, 2, 1 << 20, 4 << 20, 3, Duration.ofMillis(20), Duration.ofMillis(100)));
    }

    @Test
    void wholeTreeFromTheRegistryMatchesTar() throws Exception {
        try (ImageMount m = mount("tree", MountOptions.defaults().withCache(tmp.resolve("cache-tree"), 1L << 30))) {
            TreeCompare.assertSameTree(reference, m.mountpoint());
            assertTrue(m.stats().requests() > 0 && m.stats().requests() < image.chunks().size(),
                    "range requests, adjacent chunks merged: " + m.stats());
        }
    }

    @Test
    void pushIsIdempotentAndAnImageIsAddressableByDigest() throws Exception {
        var digest = ImageRegistry.push(imageDir, null, registry.uri(), "functions/sample", "v1");
        Path mp = Files.createDirectories(tmp.resolve("mnt-digest"));
        try (ImageMount m = ImageMount.mount(new ImageSource.Registry(registry.uri(), "functions/sample", digest.toString(),
                tmp.resolve("work-digest")), mp, quickRetries())) {
            assertEquals("overwritten\n", Files.readString(mp.resolve("etc/hostname")));
        }
    }

    @Test
    void corruptChunkInTheRegistryIsEioNeverWrongBytes() throws Exception {
        int[] tool = image.node(image.lookup("/usr/bin/tool")).chunks();
        ChunkInfo victim = image.chunks().get(tool[1]);
        Path data = registry.blobData(image.blobs().get(victim.blob()).digest());
        byte[] original = Files.readAllBytes(data);
        byte[] bad = original.clone();
        bad[(int) victim.offset() + 100] ^= 0x55;
        Files.write(data, bad);
        try (ImageMount m = mount("corrupt", quickRetries())) {
            Path file = m.mountpoint().resolve("usr/bin/tool");
            try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
                byte[] first = new byte[4096];
                f.readFully(first); // chunk 0 is intact
                f.seek(image.chunkSize() + 4096L); // inside chunk 1
                IOException e = assertThrows(IOException.class, () -> f.readFully(new byte[4096]));
                assertTrue(e.getMessage().contains("Input/output error"), e.getMessage());
            }
            assertEquals("overwritten\n", Files.readString(m.mountpoint().resolve("etc/hostname")), "the rest still reads");
            Files.write(data, original);
            // The failed read was not cached: once the registry is repaired the same bytes read right.
            assertEquals(TreeCompare.sha256(reference.resolve("usr/bin/tool")), TreeCompare.sha256(file));
        } finally {
            Files.write(data, original);
        }
    }

    @Test
    void registryDownGivesEioAfterBoundedRetriesAndTheMountRecovers() throws Exception {
        try (ImageMount m = mount("down", quickRetries())) {
            Path file = m.mountpoint().resolve("usr/bin/text");
            assertTrue(Files.exists(file), "metadata needs no network");
            registry.stop();
            try {
                IOException e = assertThrows(IOException.class, () -> Files.readAllBytes(file));
                assertTrue(e.getMessage().contains("Input/output error"), e.getMessage());
                assertEquals(0, m.stats().fetchedChunks());
            } finally {
                registry.start();
            }
            assertEquals(TreeCompare.sha256(reference.resolve("usr/bin/text")), TreeCompare.sha256(file), "recovered");
        }
    }
}
