package dev.hostd.image;

import dev.hostd.image.format.BlobInfo;
import dev.hostd.image.format.Bootstrap;
import dev.hostd.image.format.BootstrapCodec;
import dev.hostd.image.format.ChunkInfo;
import dev.hostd.image.format.Digest;
import dev.hostd.image.format.Node;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BootstrapCodecTest {
    @TempDir
    Path tmp;

    private static final Digest D = Digest.sha256(new byte[]{1});

    private static Node dir(List<Node.DirEntry> entries) {
        return new Node(Node.S_IFDIR | 0755, 0, 0, 0, 0, 0, 0, new TreeMap<>(), null, null, entries);
    }

    private static Node file(long size, int... chunks) {
        return new Node(Node.S_IFREG | 0644, 0, 0, 0, 0, size, 0, new TreeMap<>(), null, chunks, null);
    }

    private static String refusal(byte[] bytes) {
        ImageException e = assertThrows(ImageException.class, () -> BootstrapCodec.decode(bytes, "test"));
        assertEquals("EINVAL", e.errno());
        return e.getMessage();
    }

    private static String refusal(List<BlobInfo> blobs, List<ChunkInfo> chunks, List<Node> nodes) {
        String m = refusal(BootstrapCodec.encode(4096, blobs, chunks, nodes));
        return m;
    }

    private byte[] sample() throws IOException {
        SampleImage.write(tmp.resolve("oci"), 0);
        return Files.readAllBytes(ImageConverter.convert(tmp.resolve("oci"), tmp.resolve("img"),
                ImageConverter.Options.defaults()).bootstrapFile());
    }

    @Test
    void roundTripsAndRefusesEveryTruncation() throws IOException {
        byte[] good = sample();
        Bootstrap b = BootstrapCodec.decode(good, "test");
        assertTrue(b.nodes().size() > 10);
        for (int len = 0; len < good.length; len += Math.max(1, good.length / 500)) {
            String m = refusal(Arrays.copyOf(good, len));
            assertTrue(m.contains("truncated"), m);
        }
    }

    @Test
    void refusesBadMagicVersionAndChecksum() throws IOException {
        byte[] good = sample();
        byte[] magic = good.clone();
        magic[0] = 'X';
        assertTrue(refusal(magic).contains("bad magic"));
        byte[] version = good.clone();
        version[9] = 2; // major 2
        assertTrue(refusal(version).contains("format version 2.0 is not supported"));
        byte[] flipped = good.clone();
        flipped[good.length / 2] ^= 0x10;
        assertTrue(refusal(flipped).contains("checksum mismatch"));
    }

    @Test
    void randomCorruptionIsAlwaysRefusedCleanly() throws IOException {
        byte[] good = sample();
        Random r = new Random(42);
        for (int i = 0; i < 300; i++) {
            byte[] bad = good.clone();
            int n = 1 + r.nextInt(4);
            for (int k = 0; k < n; k++) {
                bad[r.nextInt(bad.length)] ^= (byte) (1 + r.nextInt(255));
            }
            refusal(bad);
        }
    }

    /** Structural errors with a valid checksum (a buggy or hostile writer): each named. */
    @Test
    void refusesOutOfRangeReferences() {
        List<BlobInfo> blobs = List.of(new BlobInfo(D, 100));
        ChunkInfo ok = new ChunkInfo(D, 0, 0, 100, 100, 0);
        Node root1 = dir(List.of(new Node.DirEntry("f", 1)));
        assertTrue(refusal(blobs, List.of(new ChunkInfo(D, 0, 50, 100, 100, 0)), List.of(root1, file(100, 0)))
                .contains("outside blob"));
        assertTrue(refusal(blobs, List.of(new ChunkInfo(D, 3, 0, 100, 100, 0)), List.of(root1, file(100, 0)))
                .contains("names blob 3"));
        assertTrue(refusal(blobs, List.of(new ChunkInfo(D, 0, 0, 100, 100, 8)), List.of(root1, file(100, 0)))
                .contains("unknown flags"));
        assertTrue(refusal(blobs, List.of(new ChunkInfo(D, 0, 0, 100, 90, ChunkInfo.FLAG_LZ4)), List.of(root1, file(90, 0)))
                .contains("LZ4 only when smaller"));
        assertTrue(refusal(blobs, List.of(ok), List.of(root1, file(100, 5))).contains("names chunk 5"));
        assertTrue(refusal(blobs, List.of(ok), List.of(root1, file(99, 0))).contains("differs from its chunks"));
        assertTrue(refusal(blobs, List.of(ok), List.of(dir(List.of(new Node.DirEntry("f", 7))), file(100, 0)))
                .contains("names node 7"));
        assertTrue(refusal(blobs, List.of(ok), List.of(dir(List.of(new Node.DirEntry("..", 1))), file(100, 0)))
                .contains("invalid entry name"));
        assertTrue(refusal(blobs, List.of(ok), List.of(dir(List.of()), file(100, 0))).contains("not reachable"));
        Node loop = dir(List.of(new Node.DirEntry("again", 1)));
        assertTrue(refusal(blobs, List.of(ok), List.of(dir(List.of(new Node.DirEntry("d", 1))), loop))
                .contains("named twice"));
        assertTrue(refusal(blobs, List.of(ok), List.of(file(100, 0))).contains("root node is not a directory"));
    }

    @Test
    void refusesLengthThatDoesNotMatchTheFile() {
        byte[] good = BootstrapCodec.encode(4096, List.of(), List.of(), List.of(dir(List.of())));
        byte[] padded = Arrays.copyOf(good, good.length + 4);
        assertTrue(refusal(padded).contains("header says"));
        // A huge count with a correct checksum must not allocate: it is checked against the bytes left.
        byte[] hostile = good.clone();
        ByteBuffer.wrap(hostile).putInt(BootstrapCodec.HEADER_SIZE, 0x7fffffff);
        ByteBuffer.wrap(hostile).putInt(BootstrapCodec.CRC_OFFSET, BootstrapCodec.checksum(hostile));
        assertTrue(refusal(hostile).contains("does not fit"));
    }
}
