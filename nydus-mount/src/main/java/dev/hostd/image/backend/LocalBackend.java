package dev.hostd.image.backend;

import dev.hostd.image.format.Digest;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ConcurrentHashMap;

/** Blobs in a local directory, {@code <dir>/sha256/<hex>}; channels kept open and read positionally. */
public final class LocalBackend implements BlobBackend {
    private final Path dir;
    private final ConcurrentHashMap<Digest, FileChannel> open = new ConcurrentHashMap<>();

    public LocalBackend(Path dir) {
        this.dir = dir;
    }

    @Override
    public byte[] read(Digest blob, long offset, int length) throws IOException {
        FileChannel ch = open.get(blob);
        if (ch == null) {
            FileChannel fresh = FileChannel.open(dir.resolve("sha256").resolve(blob.hex()), StandardOpenOption.READ);
            ch = open.putIfAbsent(blob, fresh);
            if (ch == null) {
                ch = fresh;
            } else {
                fresh.close();
            }
        }
        ByteBuffer buf = ByteBuffer.allocate(length);
        while (buf.hasRemaining()) {
            if (ch.read(buf, offset + buf.position()) < 0) {
                throw new EOFException("blob " + blob + " ends before " + (offset + length));
            }
        }
        return buf.array();
    }

    @Override
    public String describe() {
        return "directory " + dir;
    }

    @Override
    public void close() {
        for (FileChannel ch : open.values()) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // read-only channel: nothing to lose
            }
        }
        open.clear();
    }
}
