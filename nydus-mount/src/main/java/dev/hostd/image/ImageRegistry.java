package dev.hostd.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hostd.image.backend.RegistryClient;
import dev.hostd.image.format.BlobInfo;
import dev.hostd.image.format.Bootstrap;
import dev.hostd.image.format.BootstrapCodec;
import dev.hostd.image.format.Digest;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;

/**
 * Images in an OCI registry: an OCI image manifest whose config is a small hostd JSON and whose
 * layers are the bootstrap (first) and the chunk blobs (the bootstrap's blob table order).
 */
public final class ImageRegistry {
    public static final String CONFIG_TYPE = "application/vnd.hostd.image.config.v1+json";
    public static final String BOOTSTRAP_TYPE = "application/vnd.hostd.image.bootstrap.v1";
    public static final String BLOB_TYPE = "application/vnd.hostd.image.blob.v1";
    static final Duration TIMEOUT = Duration.ofSeconds(30);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long MAX_BOOTSTRAP = 1L << 30;

    private ImageRegistry() {
    }

    /** Pushes the blobs (skipping those the registry has), the bootstrap and the manifest; returns the manifest digest. */
    public static Digest push(Path imageDir, Path blobDir, URI registry, String repository, String tag) {
        Path blobs = blobDir != null ? blobDir : imageDir.resolve("blobs");
        Path bootstrapFile = imageDir.resolve(Bootstrap.FILE_NAME);
        Bootstrap b = Bootstrap.read(bootstrapFile);
        RegistryClient client = new RegistryClient(registry, repository, TIMEOUT);
        String op = "push " + imageDir + " to " + client.describe();
        try {
            ObjectNode manifest = JSON.createObjectNode();
            manifest.put("schemaVersion", 2);
            manifest.put("mediaType", RegistryClient.OCI_MANIFEST);
            byte[] config = JSON.writeValueAsBytes(JSON.createObjectNode()
                    .put("format", BootstrapCodec.MAJOR + "." + BootstrapCodec.MINOR).put("chunkSize", b.chunkSize())
                    .put("bootstrap", b.digest().toString()));
            Digest configDigest = Digest.sha256(config);
            client.pushBlob(configDigest, config);
            manifest.set("config", descriptor(CONFIG_TYPE, configDigest, config.length));
            ArrayNode layers = manifest.putArray("layers");
            byte[] bootstrap = Files.readAllBytes(bootstrapFile);
            client.pushBlob(b.digest(), bootstrap);
            layers.add(descriptor(BOOTSTRAP_TYPE, b.digest(), bootstrap.length));
            for (BlobInfo blob : b.blobs()) {
                Path file = blobs.resolve("sha256").resolve(blob.digest().hex());
                if (!Files.isRegularFile(file) || Files.size(file) != blob.size()) {
                    throw new ImageException(op, "ENOENT", "blob " + blob.digest() + " is missing or has the wrong size in " + blobs);
                }
                client.pushBlob(blob.digest(), file);
                layers.add(descriptor(BLOB_TYPE, blob.digest(), blob.size()));
            }
            byte[] m = JSON.writeValueAsBytes(manifest);
            client.putManifest(tag, m);
            return Digest.sha256(m);
        } catch (IOException e) {
            throw new ImageException(op, "EIO", e.toString(), e);
        }
    }

    private static ObjectNode descriptor(String type, Digest d, long size) {
        ObjectNode n = JSON.createObjectNode();
        n.put("mediaType", type);
        n.put("digest", d.toString());
        n.put("size", size);
        return n;
    }

    /** Fetches (or reuses) the bootstrap of a pushed image into {@code workDir/<hex>/}; returns that directory. */
    static Path fetchBootstrap(ImageSource.Registry source) {
        RegistryClient client = new RegistryClient(source.registry(), source.repository(), TIMEOUT);
        String op = "fetch image " + source.reference() + " from " + client.describe();
        try {
            JsonNode manifest = JSON.readTree(client.manifest(source.reference()));
            JsonNode first = manifest.path("layers").path(0);
            if (!BOOTSTRAP_TYPE.equals(first.path("mediaType").asText())) {
                throw ImageException.corrupt(op, "the manifest's first layer is not a hostd image bootstrap");
            }
            Digest digest = Digest.parse(first.path("digest").asText(""));
            Path dir = source.workDir().resolve(digest.hex());
            Path file = dir.resolve(Bootstrap.FILE_NAME);
            if (Files.isRegularFile(file) && Digest.sha256(Files.readAllBytes(file)).equals(digest)) {
                return dir;
            }
            byte[] bytes = client.blob(digest, MAX_BOOTSTRAP);
            Files.createDirectories(dir);
            Path tmp = dir.resolve(".bootstrap.tmp");
            Files.write(tmp, bytes);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return dir;
        } catch (IOException e) {
            throw new ImageException(op, "EIO", e.toString(), e);
        }
    }

    static RegistryClient client(ImageSource.Registry source) {
        return new RegistryClient(source.registry(), source.repository(), TIMEOUT);
    }

}
