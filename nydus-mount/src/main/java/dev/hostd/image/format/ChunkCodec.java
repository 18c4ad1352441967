package dev.hostd.image.format;

import dev.hostd.image.ImageException;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

import java.util.Arrays;

/**
 * Stores and restores one chunk: LZ4 block when that is smaller, raw otherwise; restoring checks
 * the SHA-256 of the result, so a corrupt chunk is an error, never wrong bytes.
 */
public final class ChunkCodec {
    private static final LZ4Factory LZ4 = LZ4Factory.fastestInstance();
    private static final LZ4Compressor COMPRESSOR = LZ4.fastCompressor();
    /** LZ4HC's levels (lz4's LZ4HC_CLEVEL_MIN..MAX); level 0 means the fast compressor. */
    public static final int MIN_HC_LEVEL = 3;
    public static final int MAX_HC_LEVEL = 12;
    private static final LZ4Compressor[] HC = new LZ4Compressor[MAX_HC_LEVEL + 1];

    static {
        for (int level = MIN_HC_LEVEL; level <= MAX_HC_LEVEL; level++) {
            HC[level] = LZ4.highCompressor(level);
        }
    }
    // The safe decompressor: stored bytes come from the network and are not trusted.
    private static final LZ4SafeDecompressor DECOMPRESSOR = LZ4.safeDecompressor();

    private ChunkCodec() {
    }

    /** The stored form and its flags. */
    public record Stored(byte[] bytes, int flags) {
    }

    public static Stored store(byte[] data, int off, int len) {
        return store(data, off, len, 0);
    }

    /**
     * The stored form made with LZ4's fast compressor ({@code level} 0) or LZ4HC at {@code level}
     * (3..12): the same block format, so reading needs nothing else; HC spends more time compressing
     * for fewer stored bytes, decompression is as fast.
     */
    public static Stored store(byte[] data, int off, int len, int level) {
        LZ4Compressor compressor = compressor(level);
        byte[] out = new byte[compressor.maxCompressedLength(len)];
        int n = compressor.compress(data, off, len, out, 0, out.length);
        if (n < len) {
            return new Stored(Arrays.copyOf(out, n), ChunkInfo.FLAG_LZ4);
        }
        return new Stored(Arrays.copyOfRange(data, off, off + len), 0);
    }

    /** True for the levels {@link #store(byte[], int, int, int)} accepts: 0 (fast) or 3..12 (LZ4HC). */
    public static boolean validLevel(int level) {
        return level == 0 || (level >= MIN_HC_LEVEL && level <= MAX_HC_LEVEL);
    }

    private static LZ4Compressor compressor(int level) {
        if (!validLevel(level)) {
            throw new ImageException("compress chunk", "EINVAL", "LZ4 level " + level + " is not 0 (fast) or "
                    + MIN_HC_LEVEL + ".." + MAX_HC_LEVEL + " (LZ4HC)");
        }
        return level == 0 ? COMPRESSOR : HC[level];
    }

    /** Restores a chunk from its stored bytes at {@code off}; throws (EIO) when it does not verify. */
    public static byte[] restore(ChunkInfo chunk, byte[] stored, int off) {
        byte[] data;
        if (chunk.lz4()) {
            data = new byte[chunk.size()];
            int n;
            try {
                n = DECOMPRESSOR.decompress(stored, off, chunk.storedSize(), data, 0, data.length);
            } catch (LZ4Exception e) {
                throw new ImageException("decompress chunk " + chunk.digest(), "EIO", "corrupt LZ4 data: " + e.getMessage());
            }
            if (n != chunk.size()) {
                throw new ImageException("decompress chunk " + chunk.digest(), "EIO",
                        "corrupt LZ4 data: " + n + " bytes instead of " + chunk.size());
            }
        } else {
            data = Arrays.copyOfRange(stored, off, off + chunk.size());
        }
        verify(chunk, data);
        return data;
    }

    public static void verify(ChunkInfo chunk, byte[] data) {
        if (data.length != chunk.size() || !Digest.sha256(data).equals(chunk.digest())) {
            throw new ImageException("verify chunk " + chunk.digest(), "EIO",
                    "content does not match its digest: corrupt in the blob store or in transit");
        }
    }
}
