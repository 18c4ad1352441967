package dev.hostd.image;

import dev.hostd.image.format.Bootstrap;
import dev.hostd.image.format.ChunkCodec;
import dev.hostd.image.format.ChunkInfo;
import dev.hostd.image.format.Node;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConverterTest {
    @TempDir
    Path tmp;

    static byte[] content(Bootstrap b, Path blobDir, int node) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int c : b.node(node).chunks()) {
            ChunkInfo ci = b.chunks().get(c);
            Path blob = blobDir.resolve("sha256").resolve(b.blobs().get(ci.blob()).digest().hex());
            byte[] stored = new byte[ci.storedSize()];
            try (RandomAccessFile f = new RandomAccessFile(blob.toFile(), "r")) {
                f.seek(ci.offset());
                f.readFully(stored);
            }
            out.write(ChunkCodec.restore(ci, stored, 0));
        }
        return out.toByteArray();
    }

    @Test
    void mergesLayersWithWhiteoutsOpaqueDirsLinksAndMetadata() throws IOException {
        SampleImage.write(tmp.resolve("oci"), 0);
        ImageConverter.Result r = ImageConverter.convert(tmp.resolve("oci"), tmp.resolve("img"), ImageConverter.Options.defaults());
        Bootstrap b = Bootstrap.read(r.bootstrapFile());
        assertEquals(r.bootstrap().digest(), b.digest());

        assertEquals(-1, b.lookup("/etc/removed.conf"), "whiteout removes the lower file");
        assertEquals(-1, b.lookup("/var/cache/old1"), "opaque dir hides lower children");
        assertTrue(b.lookup("/var/cache/new") > 0, "opaque dir keeps its own layer's children");
        assertArrayEquals("overwritten\n".getBytes(StandardCharsets.US_ASCII), content(b, r.blobDir(), b.lookup("/etc/hostname")));
        assertArrayEquals(SampleImage.random(1, 3 * 1024 * 1024 + 17), content(b, r.blobDir(), b.lookup("/usr/bin/tool")));
        assertArrayEquals(SampleImage.text(2 * 1024 * 1024 + 5), content(b, r.blobDir(), b.lookup("/usr/bin/text")));

        int tool = b.lookup("/usr/bin/tool");
        assertEquals(tool, b.lookup("/usr/bin/tool-alias"), "hard link names the same node");
        assertEquals(2, b.linkCount(tool));
        Node toolNode = b.node(tool);
        assertEquals(Node.S_IFREG | 04755, toolNode.mode());
        assertEquals(1_700_000_000L, toolNode.mtimeSeconds());
        Node shadow = b.node(b.lookup("/etc/shadow"));
        assertEquals(0640, shadow.mode() & 07777);
        assertEquals(42, shadow.gid());
        Node link = b.node(b.lookup("/usr/bin/tool-link"));
        assertTrue(link.isSymlink());
        assertEquals("tool", link.linkTarget());
        assertEquals("/usr/bin/tool", b.node(b.lookup("/etc/abs-link")).linkTarget());
        Node text = b.node(b.lookup("/usr/bin/text"));
        assertArrayEquals("layer-0".getBytes(StandardCharsets.UTF_8), text.xattrs().get("user.origin"));
        assertTrue(b.chunks().get(text.chunks()[0]).lz4(), "text compresses with LZ4");
        assertTrue(!b.chunks().get(toolNode.chunks()[0]).lz4(), "random data is stored raw");
        Node dev = b.node(b.lookup("/dev/null"));
        assertEquals(Node.S_IFCHR, dev.type());
        assertEquals((1 << 8) | 3, dev.rdev());
        assertEquals(Node.S_IFIFO, b.node(b.lookup("/dev/initctl")).type());
        assertEquals(0700, b.node(b.lookup("/var/cache")).mode() & 07777);
        assertEquals(1_700_000_000L, b.node(b.lookup("/etc")).mtimeSeconds(), "a directory keeps its layer's time");
        assertEquals(33, b.node(b.lookup("/var/cache")).uid());
        assertEquals(0, b.node(b.lookup("/empty")).chunks().length);

        int a = b.lookup("/dup/a");
        int bb = b.lookup("/dup/b");
        assertNotEquals(a, bb);
        assertArrayEquals(b.node(a).chunks(), b.node(bb).chunks(), "identical content is one chunk");
    }

    @Test
    void identicalChunksAreStoredOnceAcrossImages() throws IOException {
        SampleImage.write(tmp.resolve("oci1"), 0);
        ImageConverter.Result first = ImageConverter.convert(tmp.resolve("oci1"), tmp.resolve("img1"),
                new ImageConverter.Options(1 << 20, tmp.resolve("blobs"), List.of(), null));
        OciTestImage other = new OciTestImage();
        other.layer(true).file("copy-of-tool", 0755, SampleImage.random(1, 3 * 1024 * 1024 + 17))
                .file("new", 0644, SampleImage.random(5, 4096));
        other.write(tmp.resolve("oci2"));
        ImageConverter.Result second = ImageConverter.convert(tmp.resolve("oci2"), tmp.resolve("img2"),
                new ImageConverter.Options(1 << 20, tmp.resolve("blobs"), List.of(first.bootstrap()), null));
        assertEquals(3L * 1024 * 1024 + 17, second.reusedBytes(), "every chunk of the tool comes from the first image");
        assertEquals(1, second.storedChunks(), "only 'new' is stored");
        Bootstrap b = second.bootstrap();
        assertEquals(2, b.blobs().size(), "the first image's blob is referenced, not copied");
        assertArrayEquals(SampleImage.random(1, 3 * 1024 * 1024 + 17), content(b, tmp.resolve("blobs"), b.lookup("/copy-of-tool")));
    }

    private ImageException refused(OciTestImage img) throws IOException {
        Path layout = Files.createTempDirectory(tmp, "oci");
        img.write(layout);
        Path out = tmp.resolve("out-" + layout.getFileName());
        ImageException e = assertThrows(ImageException.class,
                () -> ImageConverter.convert(layout, out, ImageConverter.Options.defaults()));
        assertEquals("EINVAL", e.errno());
        return e;
    }

    @Test
    void maliciousTarEntriesAreRefusedWithTheEntryNamed() throws IOException {
        OciTestImage dotdot = new OciTestImage();
        dotdot.layer(true).file("etc/../../escape", 0644, new byte[1]);
        assertTrue(refused(dotdot).getMessage().contains("'..'"));

        OciTestImage absolute = new OciTestImage();
        absolute.layer(false).file("/etc/passwd", 0644, new byte[1]);
        assertTrue(refused(absolute).getMessage().contains("absolute path"));

        OciTestImage throughSymlink = new OciTestImage();
        throughSymlink.layer(false).symlink("lib", "/etc").file("lib/passwd", 0644, new byte[1]);
        assertTrue(refused(throughSymlink).getMessage().contains("symlink 'lib'"));

        OciTestImage hardlinkOut = new OciTestImage();
        hardlinkOut.layer(false).hardlink("x", "../../etc/shadow");
        assertTrue(refused(hardlinkOut).getMessage().contains("'..'"));

        OciTestImage hardlinkMissing = new OciTestImage();
        hardlinkMissing.layer(false).hardlink("x", "etc/shadow");
        assertTrue(refused(hardlinkMissing).getMessage().contains("missing"));

        // Nothing was written outside the output directories.
        assertTrue(Files.notExists(tmp.resolve("escape")) && Files.notExists(tmp.getParent().resolve("escape")));
    }

    @Test
    void corruptLayerDigestIsRefused() throws IOException {
        List<Path> layers = SampleImage.write(tmp.resolve("oci"), 0);
        byte[] b = Files.readAllBytes(layers.get(1));
        b[b.length - 1] ^= 1;
        Files.write(layers.get(1), b);
        ImageException e = assertThrows(ImageException.class,
                () -> ImageConverter.convert(tmp.resolve("oci"), tmp.resolve("img"), ImageConverter.Options.defaults()));
        assertTrue(e.getMessage().contains("digest"), e.getMessage());
    }
}
