package dev.hostd.image.backend;

import dev.hostd.image.format.Digest;

import java.io.IOException;
import java.io.InputStream;

/** Blobs of one repository of an OCI registry, read with HTTP Range requests. */
public final class RegistryBackend implements BlobBackend {
    private final RegistryClient client;

    public RegistryBackend(RegistryClient client) {
        this.client = client;
    }

    @Override
    public byte[] read(Digest blob, long offset, int length) throws IOException {
        try (InputStream in = client.rangeStream(blob, offset, length)) {
            byte[] bytes = in.readNBytes(length);
            if (bytes.length != length) {
                throw new IOException("registry sent " + bytes.length + " of " + length + " bytes at " + offset + " of " + blob);
            }
            if (in.read() != -1) {
                throw new IOException("registry sent more than the " + length + " bytes asked for at " + offset + " of " + blob);
            }
            return bytes;
        }
    }

    @Override
    public InputStream open(Digest blob, long offset, int length) throws IOException {
        return client.rangeStream(blob, offset, length);
    }

    @Override
    public String describe() {
        return client.describe();
    }
}
