package dev.hostd.bench.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** An image manifest read from an OCI image layout directory: its config and layers, in order. */
record OciImage(Path layout, byte[] manifest, String mediaType, Blob config, List<Blob> layers) {
    static final ObjectMapper JSON = new ObjectMapper();

    /** A content descriptor: digest ("sha256:..."), size in bytes, media type. */
    record Blob(String digest, long size, String mediaType) {
        Path in(Path layout) {
            return layout.resolve("blobs").resolve(digest.replace(':', '/'));
        }
    }

    /** The manifest tagged {@code tag} (org.opencontainers.image.ref.name) in the layout's index.json. */
    static OciImage read(Path layout, String tag) throws IOException {
        JsonNode index = JSON.readTree(layout.resolve("index.json").toFile());
        for (JsonNode m : index.path("manifests")) {
            if (tag.equals(m.path("annotations").path("org.opencontainers.image.ref.name").asText())) {
                Blob desc = blob(m);
                byte[] manifest = Files.readAllBytes(desc.in(layout));
                return parse(layout, manifest, desc.mediaType());
            }
        }
        throw new IOException(layout + "/index.json has no manifest tagged '" + tag + "'");
    }

    static OciImage parse(Path layout, byte[] manifest, String mediaType) throws IOException {
        JsonNode m = JSON.readTree(manifest);
        List<Blob> layers = new ArrayList<>();
        for (JsonNode l : m.path("layers")) {
            layers.add(blob(l));
        }
        if (layers.isEmpty() || !m.has("config")) {
            throw new IOException("image manifest without config or layers: " + new String(manifest));
        }
        return new OciImage(layout, manifest, mediaType, blob(m.path("config")), List.copyOf(layers));
    }

    long layerBytes() {
        return layers.stream().mapToLong(Blob::size).sum();
    }

    private static Blob blob(JsonNode n) throws IOException {
        String digest = n.path("digest").asText();
        if (!digest.matches("sha256:[0-9a-f]{64}")) {
            throw new IOException("bad digest in descriptor: " + n);
        }
        return new Blob(digest, n.path("size").asLong(), n.path("mediaType").asText());
    }
}
