package dev.hostd.bench.image;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

/**
 * Decompression throughput on one thread, same data both ways: a layer's uncompressed tar as JDK
 * gzip (GZIPInputStream: inflate + CRC32, what a pull pays) and as LZ4 blocks the way
 * nydus-mount stores chunks by default (its default chunk size and LZ4 level, safe decompressor,
 * raw when not smaller), with and
 * without the SHA-256 check nydus-mount does on each chunk. Best of several passes, in MB/s (10^6)
 * of uncompressed output.
 */
final class CodecThroughput {
    static final int CHUNK = dev.hostd.image.ImageConverter.DEFAULT_CHUNK_SIZE;
    static final int LEVEL = dev.hostd.image.ImageConverter.DEFAULT_LZ4_LEVEL;

    record Result(long bytes, double gzipRatio, double lz4Ratio, double gzipMBps, double lz4MBps, double lz4VerifiedMBps) {
        double speedup() {
            return lz4MBps / gzipMBps;
        }
    }

    private CodecThroughput() {}

    /** Measures on the first {@code limit} bytes of the uncompressed content of a gzip layer. */
    static Result measure(Path layerTarGz, int limit, int passes) throws IOException {
        byte[] data = new byte[limit];
        try (InputStream in = new GZIPInputStream(Files.newInputStream(layerTarGz), 1 << 16)) {
            int n = in.readNBytes(data, 0, limit);
            if (n < limit) {
                data = java.util.Arrays.copyOf(data, n);
            }
        }
        ByteArrayOutputStream gz = new ByteArrayOutputStream(data.length / 2);
        try (GZIPOutputStream out = new GZIPOutputStream(gz, 1 << 16)) {
            out.write(data);
        }
        byte[] gzip = gz.toByteArray();

        LZ4Factory lz4 = LZ4Factory.fastestInstance();
        LZ4Compressor compressor = LEVEL == 0 ? lz4.fastCompressor() : lz4.highCompressor(LEVEL);
        LZ4SafeDecompressor decompressor = lz4.safeDecompressor();
        List<byte[]> blocks = new ArrayList<>();
        long lz4Bytes = 0;
        for (int off = 0; off < data.length; off += CHUNK) {
            int len = Math.min(CHUNK, data.length - off);
            byte[] out = new byte[compressor.maxCompressedLength(len)];
            int n = compressor.compress(data, off, len, out, 0, out.length);
            byte[] block = n < len ? java.util.Arrays.copyOf(out, n) : java.util.Arrays.copyOfRange(data, off, off + len);
            blocks.add(block);
            lz4Bytes += block.length;
        }

        byte[] sink = new byte[1 << 16];
        byte[] chunk = new byte[CHUNK];
        double gzipBest = Double.MAX_VALUE, lz4Best = Double.MAX_VALUE, verifiedBest = Double.MAX_VALUE;
        for (int pass = 0; pass < passes; pass++) {
            long t = System.nanoTime();
            long total = 0;
            try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(gzip), 1 << 16)) {
                int n;
                while ((n = in.read(sink)) > 0) {
                    total += n;
                }
            }
            gzipBest = Math.min(gzipBest, System.nanoTime() - t);
            check(total, data.length, "gzip");
            lz4Best = Math.min(lz4Best, lz4Pass(blocks, data.length, decompressor, chunk, null));
            verifiedBest = Math.min(verifiedBest, lz4Pass(blocks, data.length, decompressor, chunk, sha256()));
        }
        return new Result(data.length, (double) data.length / gzip.length, (double) data.length / lz4Bytes,
                data.length / (gzipBest / 1e9) / 1e6, data.length / (lz4Best / 1e9) / 1e6, data.length / (verifiedBest / 1e9) / 1e6);
    }

    private static long lz4Pass(List<byte[]> blocks, int length, LZ4SafeDecompressor d, byte[] chunk, MessageDigest sha) throws IOException {
        long t = System.nanoTime();
        long total = 0;
        for (int i = 0; i < blocks.size(); i++) {
            byte[] block = blocks.get(i);
            int size = Math.min(CHUNK, length - i * CHUNK);
            int n = block.length == size ? size : d.decompress(block, 0, block.length, chunk, 0, size);
            if (block.length == size) {
                System.arraycopy(block, 0, chunk, 0, size);
            }
            if (sha != null) {
                sha.update(chunk, 0, n);
                sha.digest();
            }
            total += n;
        }
        long elapsed = System.nanoTime() - t;
        check(total, length, "lz4");
        return elapsed;
    }

    private static void check(long got, long want, String codec) throws IOException {
        if (got != want) {
            throw new IOException(codec + " round trip gave " + got + " bytes instead of " + want);
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
