package dev.hostd.vmm.loader.linux;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hostd.vmm.VmmException;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import net.jpountz.lz4.LZ4Factory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The legacy LZ4 decoder on streams built block by block, on what the lz4 tool writes, and on bad input. */
class Lz4LegacyTest {
    @TempDir
    Path dir;

    /** Compressible but not trivial: text-like bytes. */
    private static byte[] sample(int size, long seed) {
        byte[] b = new byte[size];
        Random r = new Random(seed);
        for (int i = 0; i < size; i++) {
            b[i] = (byte) ('a' + r.nextInt(6));
        }
        return b;
    }

    /** magic, then [u32 size][block] per chunk of at most 8 MiB, as lz4 -l writes. */
    private static byte[] legacy(byte[] data) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(le32(Lz4Legacy.MAGIC));
        for (int at = 0; at < data.length; at += Lz4Legacy.BLOCK_SIZE) {
            byte[] block = LZ4Factory.safeInstance().fastCompressor().compress(
                    Arrays.copyOfRange(data, at, Math.min(data.length, at + Lz4Legacy.BLOCK_SIZE)));
            out.writeBytes(le32(block.length));
            out.writeBytes(block);
        }
        return out.toByteArray();
    }

    private static byte[] le32(int v) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array();
    }

    @Test
    void decodesOneAndSeveralBlocks() {
        byte[] small = sample(100_000, 1);
        assertArrayEquals(small, Lz4Legacy.decode(legacy(small), 0, legacy(small).length, small.length));
        byte[] big = sample(Lz4Legacy.BLOCK_SIZE + 12_345, 2); // two blocks, the second short
        byte[] stream = legacy(big);
        assertArrayEquals(big, Lz4Legacy.decode(stream, 0, stream.length, big.length));
    }

    @Test
    void decodesAStreamInsideALargerArray() {
        byte[] data = sample(5000, 3);
        byte[] stream = legacy(data);
        byte[] padded = new byte[stream.length + 20];
        System.arraycopy(stream, 0, padded, 7, stream.length);
        assertArrayEquals(data, Lz4Legacy.decode(padded, 7, 7 + stream.length, data.length));
    }

    /** The format the kernel build uses comes from the lz4 tool itself (lz4 -l); skipped where it is missing. */
    @Test
    void decodesWhatTheLz4ToolWrites() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/lz4")),
                "no /usr/bin/lz4 (Debian lz4, installed by scripts/setup)");
        byte[] data = sample(9 << 20, 4);
        Path in = dir.resolve("data"), out = dir.resolve("data.lz4");
        Files.write(in, data);
        Process p = new ProcessBuilder(List.of("lz4", "-l", "-9", "-f", in.toString(), out.toString())).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, "lz4 -l failed: " + log);
        byte[] stream = Files.readAllBytes(out);
        assertArrayEquals(data, Lz4Legacy.decode(stream, 0, stream.length, data.length));
    }

    @Test
    void badStreamsAreRefusedWithTheReason() {
        byte[] data = sample(50_000, 5);
        byte[] good = legacy(data);

        refused(new byte[] {1, 2, 3, 4, 5, 6, 7, 8}, data.length, "no legacy LZ4 magic");
        refused(Arrays.copyOf(good, 2), data.length, "no legacy LZ4 magic");
        refused(Arrays.copyOf(good, 6), data.length, "too few for a block size");
        refused(Arrays.copyOf(good, good.length - 1), data.length, "only " + (good.length - 9) + " are left");

        byte[] zeroSize = good.clone();
        System.arraycopy(le32(0), 0, zeroSize, 4, 4);
        refused(zeroSize, data.length, "declares 0 compressed bytes");
        byte[] hugeSize = good.clone();
        System.arraycopy(le32(0x7FFF_FFFF), 0, hugeSize, 4, 4);
        refused(hugeSize, data.length, "declares 2147483647 compressed bytes");

        byte[] corrupt = good.clone();
        corrupt[8] = (byte) 0xFF; // the first token: 15+ literals, and the length bytes that follow do not fit
        corrupt[9] = (byte) 0xFF;
        corrupt[10] = (byte) 0xFF;
        refused(corrupt, data.length, "is not a valid LZ4 block");

        byte[] trailing = Arrays.copyOf(good, good.length + 3); // 3 stray bytes where a block size should be
        refused(trailing, data.length, "too few for a block size");

        refused(good, data.length - 1, "more than the " + (data.length - 1) + " bytes left of the expected " + (data.length - 1));
        refused(good, data.length + 1, "decodes to " + data.length + " bytes, expected " + (data.length + 1));
        assertThrows(VmmException.class, () -> Lz4Legacy.decode(good, 0, good.length + 1, data.length));
        refused(good, -1, "is negative");
    }

    private static void refused(byte[] stream, int size, String reason) {
        VmmException e = assertThrows(VmmException.class, () -> Lz4Legacy.decode(stream, 0, stream.length, size));
        assertTrue(e.getMessage().contains(reason), "expected '" + reason + "' in: " + e.getMessage());
        assertTrue(e.getMessage().startsWith("invalid legacy LZ4 data"), e.getMessage());
    }
}
