package dev.hostd.vmm.loader.linux;

import dev.hostd.vmm.VmmException;
import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

/**
 * Decoder of LZ4's "legacy" format, the one the kernel's build compresses a bzImage payload with
 * ({@code lz4 -l}): the magic 0x184C2102, then blocks of [u32 LE compressed size][LZ4 block],
 * each block decompressing to at most 8 MiB. Strict: a block that does not decode exactly, a size
 * that runs past the input, or output beyond {@code maxOutput} is an error naming the block.
 */
public final class Lz4Legacy {
    public static final int MAGIC = 0x184C2102;
    /** The format's fixed block size (LEGACY_BLOCKSIZE in lz4's programs/lz4io.c). */
    public static final int BLOCK_SIZE = 8 << 20;
    /** Pure Java, no JNI or Unsafe: decoding a kernel once per boot does not need more speed. */
    private static final LZ4SafeDecompressor DECOMPRESSOR = LZ4Factory.safeInstance().safeDecompressor();
    private static final int MAX_COMPRESSED_BLOCK = LZ4Factory.safeInstance().fastCompressor().maxCompressedLength(BLOCK_SIZE);

    private Lz4Legacy() {}

    /**
     * Decodes {@code input[from, to)}, which must be exactly one legacy stream of exactly
     * {@code size} bytes once decoded (the kernel's payload says its size; knowing it lets the
     * blocks be decoded straight into the result).
     */
    public static byte[] decode(byte[] input, int from, int to, int size) {
        if (from < 0 || to > input.length || from > to) {
            throw invalid("range [" + from + ", " + to + ") is outside the " + input.length + "-byte input");
        }
        if (size < 0) {
            throw invalid("expected size " + size + " is negative");
        }
        if (to - from < 4 || le32(input, from) != MAGIC) {
            throw invalid("no legacy LZ4 magic 0x184C2102 at the start (is the data LZ4 in the legacy format, lz4 -l?)");
        }
        byte[] out = new byte[size];
        int written = 0;
        int at = from + 4;
        for (int index = 0; at < to; index++) {
            if (to - at < 4) {
                throw invalid("block " + index + " at offset " + (at - from) + ": " + (to - at)
                        + " bytes left, too few for a block size (truncated data)");
            }
            long compressed = Integer.toUnsignedLong(le32(input, at));
            if (compressed == 0 || compressed > MAX_COMPRESSED_BLOCK) {
                throw invalid("block " + index + " at offset " + (at - from) + " declares " + compressed
                        + " compressed bytes, not within 1.." + MAX_COMPRESSED_BLOCK);
            }
            at += 4;
            if (compressed > to - at) {
                throw invalid("block " + index + " declares " + compressed + " compressed bytes but only " + (to - at)
                        + " are left (truncated data)");
            }
            int left = size - written;
            try {
                written += DECOMPRESSOR.decompress(input, at, (int) compressed, out, written, Math.min(BLOCK_SIZE, left));
            } catch (LZ4Exception e) {
                String why = left < BLOCK_SIZE ? " or decodes to more than the " + left + " bytes left of the expected " + size : "";
                throw invalid("block " + index + " at offset " + (at - 4 - from) + " is not a valid LZ4 block" + why + ": " + e.getMessage());
            }
            at += (int) compressed;
        }
        if (written != size) {
            throw invalid("the stream decodes to " + written + " bytes, expected " + size);
        }
        return out;
    }

    static int le32(byte[] b, int at) {
        return (b[at] & 0xFF) | (b[at + 1] & 0xFF) << 8 | (b[at + 2] & 0xFF) << 16 | (b[at + 3] & 0xFF) << 24;
    }

    private static VmmException invalid(String message) {
        return new VmmException(VmmException.Kind.INVALID_INPUT, "decode LZ4", "invalid legacy LZ4 data: " + message);
    }
}
