package dev.hostd.image.trace;

import dev.hostd.image.ImageException;
import dev.hostd.image.format.Bootstrap;
import dev.hostd.image.format.Digest;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.zip.CRC32C;

/**
 * The ordered chunks an image's first start read, stored beside its bootstrap as {@code trace}:
 * magic, version, the bootstrap's digest (a trace of another image is ignored), the chunk indexes,
 * CRC32C. Later mounts prefetch these chunks in this order.
 */
public record Trace(Digest bootstrap, int[] chunks) {
    public static final String FILE_NAME = "trace";
    private static final byte[] MAGIC = "HDNYTRCE".getBytes(StandardCharsets.US_ASCII);
    private static final int VERSION = 1;

    public void write(Path file) {
        ByteBuffer b = ByteBuffer.allocate(8 + 4 + 32 + 4 + 4 * chunks.length + 4);
        b.put(MAGIC).putInt(VERSION).put(bootstrap.bytes()).putInt(chunks.length);
        for (int c : chunks) {
            b.putInt(c);
        }
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, b.position());
        b.putInt((int) crc.getValue());
        try {
            Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
            Files.write(tmp, b.array());
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new ImageException("write trace " + file, "EIO", e.toString(), e);
        }
    }

    /** Reads and checks a trace against the image it is for. */
    public static Trace read(Path file, Bootstrap image) {
        String op = "read trace " + file;
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new ImageException(op, "EIO", e.toString(), e);
        }
        if (bytes.length < 52 || !Arrays.equals(Arrays.copyOf(bytes, 8), MAGIC)) {
            throw ImageException.corrupt(op, "not a trace file (bad magic or truncated)");
        }
        ByteBuffer b = ByteBuffer.wrap(bytes);
        b.position(8);
        int version = b.getInt();
        if (version != VERSION) {
            throw ImageException.corrupt(op, "trace version " + version + " is not supported");
        }
        byte[] d = new byte[32];
        b.get(d);
        int n = b.getInt();
        if (n < 0 || (long) n * 4 + 52 != bytes.length) {
            throw ImageException.corrupt(op, "truncated: " + n + " chunks do not fit " + bytes.length + " bytes");
        }
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, bytes.length - 4);
        if ((int) crc.getValue() != ByteBuffer.wrap(bytes, bytes.length - 4, 4).getInt()) {
            throw ImageException.corrupt(op, "checksum mismatch");
        }
        Digest digest = Digest.of(d);
        if (!digest.equals(image.digest())) {
            throw ImageException.corrupt(op, "recorded for image " + digest + ", not " + image.digest());
        }
        int[] chunks = new int[n];
        for (int i = 0; i < n; i++) {
            chunks[i] = b.getInt();
            if (chunks[i] < 0 || chunks[i] >= image.chunks().size()) {
                throw ImageException.corrupt(op, "names chunk " + chunks[i] + " of " + image.chunks().size());
            }
        }
        return new Trace(digest, chunks);
    }
}
