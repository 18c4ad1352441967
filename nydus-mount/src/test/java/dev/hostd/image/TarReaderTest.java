package dev.hostd.image;

import dev.hostd.image.format.Bootstrap;
import dev.hostd.image.format.Digest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Layers written byte by byte: binary PAX xattrs, and headers the strict reader must refuse. */
class TarReaderTest {
    @TempDir
    Path tmp;

    /** A ustar header block; {@code magic} lets a test write an old v7 header. */
    static byte[] header(String name, char type, long size, String magic) {
        byte[] h = new byte[512];
        put(h, 0, name);
        put(h, 100, "0000644");
        put(h, 108, "0000000");
        put(h, 116, "0000000");
        put(h, 124, String.format("%011o", size));
        put(h, 136, String.format("%011o", 1_700_000_000L));
        h[156] = (byte) type;
        put(h, 257, magic);
        if (magic.startsWith("ustar")) {
            put(h, 263, "00");
        }
        Arrays.fill(h, 148, 156, (byte) ' ');
        long sum = 0;
        for (byte b : h) {
            sum += b & 0xff;
        }
        put(h, 148, String.format("%06o", sum));
        h[154] = 0;
        return h;
    }

    static void put(byte[] h, int off, String s) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(b, 0, h, off, b.length);
    }

    static void block(ByteArrayOutputStream out, byte[] content) {
        out.writeBytes(content);
        out.writeBytes(new byte[(512 - content.length % 512) % 512]);
    }

    static byte[] paxRecord(String key, byte[] value) {
        byte[] k = (" " + key + "=").getBytes(StandardCharsets.UTF_8);
        int len = k.length + value.length + 1;
        int digits = Integer.toString(len).length();
        int total = len + digits;
        if (Integer.toString(total).length() != digits) {
            total++;
        }
        ByteArrayOutputStream r = new ByteArrayOutputStream();
        r.writeBytes(Integer.toString(total).getBytes(StandardCharsets.US_ASCII));
        r.writeBytes(k);
        r.writeBytes(value);
        r.write('\n');
        return r.toByteArray();
    }

    private Path layout(byte[] tar) throws IOException {
        Path dir = Files.createTempDirectory(tmp, "oci");
        Files.createDirectories(dir.resolve("blobs/sha256"));
        Files.writeString(dir.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
        Digest l = Digest.sha256(tar);
        Files.write(dir.resolve("blobs/sha256").resolve(l.hex()), tar);
        String m = "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\""
                + l + "\",\"size\":1},\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\""
                + l + "\",\"size\":" + tar.length + "}]}";
        Digest md = Digest.sha256(m.getBytes(StandardCharsets.UTF_8));
        Files.writeString(dir.resolve("blobs/sha256").resolve(md.hex()), m);
        Files.writeString(dir.resolve("index.json"), "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
                + "\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" + md + "\",\"size\":" + m.length() + "}]}");
        return dir;
    }

    private Bootstrap convert(byte[] tar) throws IOException {
        Path dir = layout(tar);
        return ImageConverter.convert(dir, dir.resolve("out"), ImageConverter.Options.defaults()).bootstrap();
    }

    private String refused(byte[] tar) throws IOException {
        Path dir = layout(tar);
        ImageException e = assertThrows(ImageException.class,
                () -> ImageConverter.convert(dir, dir.resolve("out"), ImageConverter.Options.defaults()));
        assertEquals("EINVAL", e.errno());
        return e.getMessage();
    }

    @Test
    void binaryXattrValuesAndLongPaxPathsAreKeptExactly() throws IOException {
        byte[] capability = {1, 0, 0, 2, (byte) 0x80, (byte) 0xff, 0, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
        String longName = "d/" + "x".repeat(200);
        ByteArrayOutputStream pax = new ByteArrayOutputStream();
        pax.writeBytes(paxRecord("SCHILY.xattr.security.capability", capability));
        pax.writeBytes(paxRecord("path", longName.getBytes(StandardCharsets.UTF_8)));
        pax.writeBytes(paxRecord("mtime", "1700000000.25".getBytes(StandardCharsets.US_ASCII)));
        ByteArrayOutputStream tar = new ByteArrayOutputStream();
        tar.writeBytes(header("PaxHeaders/x", 'x', pax.size(), "ustar\0"));
        block(tar, pax.toByteArray());
        tar.writeBytes(header("short-name", '0', 3, "ustar\0"));
        block(tar, "abc".getBytes(StandardCharsets.US_ASCII));
        tar.writeBytes(new byte[1024]);
        Bootstrap b = convert(tar.toByteArray());
        int n = b.lookup("/" + longName);
        assertTrue(n > 0, "PAX path wins over the header name");
        assertArrayEquals(capability, b.node(n).xattrs().get("security.capability"));
        assertEquals(250_000_000, b.node(n).mtimeNanos());
        assertEquals(-1, b.lookup("/short-name"));
    }

    @Test
    void corruptHeadersSparseFilesAndV7TarsAreRefused() throws IOException {
        byte[] good = header("f", '0', 0, "ustar\0");
        byte[] badSum = good.clone();
        badSum[0] = 'g';
        ByteArrayOutputStream t1 = new ByteArrayOutputStream();
        t1.writeBytes(badSum);
        t1.writeBytes(new byte[1024]);
        assertTrue(refused(t1.toByteArray()).contains("checksum mismatch"));

        ByteArrayOutputStream t2 = new ByteArrayOutputStream();
        t2.writeBytes(header("old", '0', 0, "\0\0\0\0\0\0"));
        t2.writeBytes(new byte[1024]);
        assertTrue(refused(t2.toByteArray()).contains("v7"));

        ByteArrayOutputStream t3 = new ByteArrayOutputStream();
        byte[] sparse = paxRecord("GNU.sparse.major", "1".getBytes(StandardCharsets.US_ASCII));
        t3.writeBytes(header("PaxHeaders/s", 'x', sparse.length, "ustar\0"));
        block(t3, sparse);
        t3.writeBytes(header("s", '0', 0, "ustar\0"));
        t3.writeBytes(new byte[1024]);
        assertTrue(refused(t3.toByteArray()).contains("sparse"));

        ByteArrayOutputStream t4 = new ByteArrayOutputStream();
        t4.writeBytes(header("truncated", '0', 5000, "ustar\0"));
        t4.writeBytes(new byte[100]);
        assertTrue(refused(t4.toByteArray()).contains("ends inside"));
    }
}
