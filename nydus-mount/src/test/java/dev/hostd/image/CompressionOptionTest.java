package dev.hostd.image;

import dev.hostd.image.format.Bootstrap;
import dev.hostd.image.format.ChunkCodec;
import dev.hostd.image.format.ChunkInfo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The converter's LZ4HC level and chunk size options: same files, fewer stored bytes, bad values refused. */
class CompressionOptionTest {
    @TempDir
    Path tmp;

    private static long blobBytes(ImageConverter.Result r) throws IOException {
        long sum = 0;
        for (var blob : r.bootstrap().blobs()) {
            sum += Files.size(r.blobDir().resolve("sha256").resolve(blob.digest().hex()));
        }
        return sum;
    }

    @Test
    void lz4hcStoresTheSameFilesInFewerBytesInTheSameFormat() throws IOException {
        SampleImage.write(tmp.resolve("oci"), 0);
        ImageConverter.Result fast = ImageConverter.convert(tmp.resolve("oci"), tmp.resolve("fast"), ImageConverter.Options.defaults().withLz4Level(0));
        ImageConverter.Result hc = ImageConverter.convert(tmp.resolve("oci"), tmp.resolve("hc"), ImageConverter.Options.defaults().withLz4Level(9));
        Bootstrap f = Bootstrap.read(fast.bootstrapFile());
        Bootstrap h = Bootstrap.read(hc.bootstrapFile()); // the reader needs nothing new: LZ4HC writes plain LZ4 blocks
        assertTrue(blobBytes(hc) < blobBytes(fast), "HC " + blobBytes(hc) + " bytes vs fast " + blobBytes(fast));
        for (String path : List.of("/usr/bin/text", "/usr/bin/tool", "/etc/hostname")) {
            assertArrayEquals(ConverterTest.content(f, fast.blobDir(), f.lookup(path)), ConverterTest.content(h, hc.blobDir(), h.lookup(path)), path);
        }
        assertEquals(f.chunks().size(), h.chunks().size());
        for (int i = 0; i < f.chunks().size(); i++) {
            assertEquals(f.chunks().get(i).digest(), h.chunks().get(i).digest(), "chunks are addressed by their uncompressed data");
        }
    }

    @Test
    void parallelCompressionWritesTheSameBlobEveryTime() throws IOException {
        SampleImage.write(tmp.resolve("oci"), 0);
        ImageConverter.Options o = ImageConverter.Options.defaults().withLz4Level(3).withChunkSize(16 << 10);
        ImageConverter.Result a = ImageConverter.convert(tmp.resolve("oci"), tmp.resolve("a"), o);
        ImageConverter.Result b = ImageConverter.convert(tmp.resolve("oci"), tmp.resolve("b"), o);
        assertEquals(a.bootstrap().digest(), b.bootstrap().digest());
        assertEquals(a.bootstrap().blobs(), b.bootstrap().blobs());
        // Chunks sit in the blob in the order the files came, back to back.
        Bootstrap boot = a.bootstrap();
        long end = 0;
        for (ChunkInfo c : boot.chunks()) {
            assertEquals(end, c.offset());
            end = c.end();
        }
        assertEquals(boot.blobs().getFirst().size(), end);
        assertArrayEquals(SampleImage.text(2 * 1024 * 1024 + 5), ConverterTest.content(boot, a.blobDir(), boot.lookup("/usr/bin/text")));
        assertEquals((2 * 1024 * 1024 + 5 + (16 << 10) - 1) / (16 << 10), boot.node(boot.lookup("/usr/bin/text")).chunks().length);
    }

    @Test
    void badLevelsAndChunkSizesAreRefusedAndWriteNothing() throws IOException {
        SampleImage.write(tmp.resolve("oci"), 0);
        for (int level : new int[]{-1, 1, 2, 13, 99}) {
            ImageException e = assertThrows(ImageException.class, () -> ImageConverter.convert(tmp.resolve("oci"), tmp.resolve("bad"),
                    ImageConverter.Options.defaults().withLz4Level(level)));
            assertEquals("EINVAL", e.errno());
            assertTrue(e.getMessage().contains("LZ4 level " + level), e.getMessage());
        }
        for (int size : new int[]{2048, 3 << 10, 32 << 20}) {
            ImageException e = assertThrows(ImageException.class, () -> ImageConverter.convert(tmp.resolve("oci"), tmp.resolve("bad"),
                    ImageConverter.Options.defaults().withChunkSize(size)));
            assertEquals("EINVAL", e.errno());
            assertTrue(e.getMessage().contains("chunk size " + size), e.getMessage());
        }
        assertTrue(Files.notExists(tmp.resolve("bad")), "a refused conversion writes nothing");
        assertThrows(ImageException.class, () -> ChunkCodec.store(new byte[10], 0, 10, 2));
    }

    @Test
    void hcChunksRoundTripAndACorruptOneIsRefused() {
        byte[] data = SampleImage.text(100_000);
        ChunkCodec.Stored s = ChunkCodec.store(data, 0, data.length, 12);
        ChunkInfo info = new ChunkInfo(dev.hostd.image.format.Digest.sha256(data), 0, 0, s.bytes().length, data.length, s.flags());
        assertTrue(info.lz4());
        assertArrayEquals(data, ChunkCodec.restore(info, s.bytes(), 0));
        byte[] bad = s.bytes().clone();
        bad[bad.length / 2] ^= 0x55;
        ImageException e = assertThrows(ImageException.class, () -> ChunkCodec.restore(info, bad, 0));
        assertEquals("EIO", e.errno());
    }
}
