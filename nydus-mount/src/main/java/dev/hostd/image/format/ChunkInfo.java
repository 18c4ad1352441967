package dev.hostd.image.format;

/**
 * Where one chunk lives and how it is stored: the index entry that lets a chunk be fetched by
 * itself (one range of one blob). {@code digest} is the SHA-256 of the uncompressed data.
 */
public record ChunkInfo(Digest digest, int blob, long offset, int storedSize, int size, int flags) {
    /** The stored bytes are an LZ4 block; without it they are the raw data. */
    public static final int FLAG_LZ4 = 1;

    public boolean lz4() {
        return (flags & FLAG_LZ4) != 0;
    }

    public long end() {
        return offset + storedSize;
    }
}
