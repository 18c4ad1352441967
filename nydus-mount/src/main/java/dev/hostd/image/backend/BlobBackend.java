package dev.hostd.image.backend;

import dev.hostd.image.format.Digest;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;

/** Where blobs are read from: a range of a blob by digest. Implementations are thread-safe. */
public interface BlobBackend extends AutoCloseable {
    /** Exactly {@code length} bytes at {@code offset} of the blob; IOException for anything transient. */
    byte[] read(Digest blob, long offset, int length) throws IOException;

    /**
     * The same bytes as a stream the caller closes, so chunks can be used as they arrive instead of
     * when the whole range is in. The stream may end early on a transport error (an IOException or
     * a short read then, retried by the caller). Default: {@link #read} whole.
     */
    default InputStream open(Digest blob, long offset, int length) throws IOException {
        return new ByteArrayInputStream(read(blob, offset, length));
    }

    /** For logs and errors: "registry http://... repo x", "directory /...". */
    String describe();

    @Override
    default void close() {
    }
}
