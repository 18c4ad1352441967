package dev.hostd.image.oci;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.hostd.image.ImageException;
import dev.hostd.image.format.Digest;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * An OCI image layout directory (oci-layout, index.json, blobs/sha256/...): finds the image
 * manifest and its layers. Blob paths are built from validated digests only, so a crafted
 * index cannot name a file outside blobs/.
 */
public final class OciLayout {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String INDEX = "application/vnd.oci.image.index.v1+json";
    private static final String DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";

    /** One layer of the manifest, bottom first. */
    public record Layer(Digest digest, String mediaType, long size) {
        public boolean gzip() {
            return mediaType.endsWith("gzip");
        }
    }

    private final Path root;

    public OciLayout(Path root) {
        this.root = root;
    }

    public Path blob(Digest d) {
        return root.resolve("blobs").resolve("sha256").resolve(d.hex());
    }

    /** The layers of the image: the only manifest, else the one for linux/amd64, else the one tagged {@code ref}. */
    public List<Layer> layers(String ref) {
        String op = "read OCI layout " + root;
        if (!Files.isRegularFile(root.resolve("oci-layout"))) {
            throw ImageException.corrupt(op, "no oci-layout file: not an OCI image layout directory");
        }
        JsonNode manifest = resolve(readJson(root.resolve("index.json"), op), ref, op, 0);
        JsonNode layers = manifest.path("layers");
        if (!layers.isArray()) {
            throw ImageException.corrupt(op, "the image manifest has no layers array");
        }
        List<Layer> out = new ArrayList<>();
        for (JsonNode l : layers) {
            String type = l.path("mediaType").asText("");
            if (!type.endsWith(".tar") && !type.endsWith("tar+gzip")) {
                throw ImageException.corrupt(op, "layer media type '" + type + "' is not supported (tar or tar+gzip)");
            }
            out.add(new Layer(Digest.parse(l.path("digest").asText("")), type, l.path("size").asLong(-1)));
        }
        return out;
    }

    private JsonNode resolve(JsonNode index, String ref, String op, int depth) {
        if (depth > 4) {
            throw ImageException.corrupt(op, "image indexes nested too deeply");
        }
        JsonNode manifests = index.path("manifests");
        if (!manifests.isArray() || manifests.isEmpty()) {
            throw ImageException.corrupt(op, "index lists no manifests");
        }
        JsonNode chosen = null;
        if (manifests.size() == 1) {
            chosen = manifests.get(0);
        }
        for (JsonNode m : manifests) {
            if (ref != null && ref.equals(m.path("annotations").path("org.opencontainers.image.ref.name").asText(null))) {
                chosen = m;
                break;
            }
            if (ref == null && chosen == null && "amd64".equals(m.path("platform").path("architecture").asText())
                    && "linux".equals(m.path("platform").path("os").asText())) {
                chosen = m;
            }
        }
        if (chosen == null) {
            throw ImageException.corrupt(op, "index has " + manifests.size() + " manifests and none is "
                    + (ref == null ? "for linux/amd64" : "tagged '" + ref + "'"));
        }
        Digest d = Digest.parse(chosen.path("digest").asText(""));
        JsonNode child = readJson(blob(d), op);
        String type = chosen.path("mediaType").asText(child.path("mediaType").asText(""));
        if (INDEX.equals(type) || DOCKER_LIST.equals(type)) {
            return resolve(child, null, op, depth + 1);
        }
        return child;
    }

    private static JsonNode readJson(Path file, String op) {
        try {
            if (Files.size(file) > 4 << 20) {
                throw ImageException.corrupt(op, file.getFileName() + " is larger than 4 MiB");
            }
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw ImageException.corrupt(op, "cannot read " + file + ": " + e.getMessage());
        }
    }
}
