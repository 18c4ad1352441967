package dev.hostd.image.backend;

import dev.hostd.image.format.Digest;

import java.io.IOException;

/** Where blobs are read from: a range of a blob by digest. Implementations are thread-safe. */
public interface BlobBackend extends AutoCloseable {
    /** Exactly {@code length} bytes at {@code offset} of the blob; IOException for anything transient. */
    byte[] read(Digest blob, long offset, int length) throws IOException;

    /** For logs and errors: "registry http://... repo x", "directory /...". */
    String describe();

    @Override
    default void close() {
    }
}
