package dev.hostd.bench.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading an OCI image layout's tagged manifest, and refusing a malformed one by name. */
class OciImageTest {
    static final String D1 = "sha256:" + "1".repeat(64);
    static final String D2 = "sha256:" + "2".repeat(64);
    static final String D3 = "sha256:" + "3".repeat(64);

    @TempDir
    Path layout;

    @Test
    void readsLayersInOrderByTag() throws IOException {
        String manifest = manifest(D2);
        write(layout.resolve("blobs/sha256/" + "a".repeat(64)), manifest);
        write(layout.resolve("index.json"), """
                {"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json",
                "digest":"sha256:%s","size":%d,"annotations":{"org.opencontainers.image.ref.name":"latest"}}]}
                """.formatted("a".repeat(64), manifest.length()));
        OciImage image = OciImage.read(layout, "latest");
        assertEquals(D1, image.config().digest());
        assertEquals(2, image.layers().size());
        assertEquals(D2, image.layers().get(0).digest());
        assertEquals(300, image.layerBytes());
        assertEquals(layout.resolve("blobs/sha256/" + "2".repeat(64)), image.layers().get(0).in(layout));
        IOException e = assertThrows(IOException.class, () -> OciImage.read(layout, "other"));
        assertTrue(e.getMessage().contains("no manifest tagged 'other'"), e.getMessage());
    }

    @Test
    void refusesABadDigestNamingTheDescriptor() {
        IOException e = assertThrows(IOException.class,
                () -> OciImage.parse(layout, manifest("sha256:../../etc").getBytes(StandardCharsets.UTF_8), ""));
        assertTrue(e.getMessage().contains("bad digest"), e.getMessage());
    }

    private static String manifest(String firstLayer) {
        return """
                {"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":10},
                "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":100},
                {"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":200}]}
                """.formatted(D1, firstLayer, D3);
    }

    private static void write(Path p, String s) throws IOException {
        Files.createDirectories(p.getParent());
        Files.writeString(p, s);
    }
}
