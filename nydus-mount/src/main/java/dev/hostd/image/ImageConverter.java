package dev.hostd.image;

import dev.hostd.image.format.Bootstrap;
import dev.hostd.image.format.BootstrapCodec;
import dev.hostd.image.format.ChunkCodec;
import dev.hostd.image.oci.OciConversion;

import java.nio.file.Path;
import java.util.List;

/**
 * Converts an OCI image layout directory into an image directory: {@code <imageDir>/bootstrap}
 * plus one new blob of the chunks not already known, in {@code <blobDir>/sha256/<hex>}.
 */
public final class ImageConverter {
    public static final int DEFAULT_CHUNK_SIZE = 128 << 10;
    /** 0: LZ4's fast compressor; 3..12: LZ4HC at that level (same format, smaller, slower to convert). */
    public static final int DEFAULT_LZ4_LEVEL = 3;

    /**
     * @param chunkSize maximum chunk size, a power of two in [4 KiB, 16 MiB]
     * @param blobDir   where blobs go ({@code <imageDir>/blobs} when null)
     * @param dedupWith bootstraps of images whose chunks are referenced rather than stored again
     *                  (their blobs must be reachable by the backend that serves the new image)
     * @param ref       the {@code org.opencontainers.image.ref.name} to pick from a multi-image index, or null
     * @param lz4Level  0 for LZ4's fast compressor, 3..12 for LZ4HC at that level (see docs/image-format.md)
     */
    public record Options(int chunkSize, Path blobDir, List<Bootstrap> dedupWith, String ref, int lz4Level) {
        public Options(int chunkSize, Path blobDir, List<Bootstrap> dedupWith, String ref) {
            this(chunkSize, blobDir, dedupWith, ref, DEFAULT_LZ4_LEVEL);
        }

        public static Options defaults() {
            return new Options(DEFAULT_CHUNK_SIZE, null, List.of(), null, DEFAULT_LZ4_LEVEL);
        }

        public Options withChunkSize(int size) {
            return new Options(size, blobDir, dedupWith, ref, lz4Level);
        }

        public Options withLz4Level(int level) {
            return new Options(chunkSize, blobDir, dedupWith, ref, level);
        }
    }

    /** What a conversion made. */
    public record Result(Bootstrap bootstrap, Path bootstrapFile, Path blobDir, long entries, long storedChunks,
                         long reusedBytes) {
    }

    private ImageConverter() {
    }

    public static Result convert(Path ociLayout, Path imageDir, Options options) {
        if (options.chunkSize() < BootstrapCodec.MIN_CHUNK_SIZE || options.chunkSize() > BootstrapCodec.MAX_CHUNK_SIZE
                || Integer.bitCount(options.chunkSize()) != 1) {
            throw new ImageException("convert", "EINVAL", "chunk size " + options.chunkSize()
                    + " is not a power of two in [4 KiB, 16 MiB]");
        }
        if (!ChunkCodec.validLevel(options.lz4Level())) {
            throw new ImageException("convert", "EINVAL", "LZ4 level " + options.lz4Level() + " is not 0 (fast) or "
                    + ChunkCodec.MIN_HC_LEVEL + ".." + ChunkCodec.MAX_HC_LEVEL + " (LZ4HC)");
        }
        return OciConversion.run(ociLayout, imageDir, options);
    }
}
