package dev.hostd.bench.image;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;

/**
 * The few calls of the OCI distribution API the benchmark needs: monolithic blob upload and
 * manifest PUT (push), manifest and whole-blob GET with digest check (the full pull's download).
 */
final class RegistryClient {
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10)).build();
    private final String base;

    RegistryClient(String baseUrl) {
        this.base = baseUrl;
    }

    void push(OciImage image, String repo, String tag) throws IOException, InterruptedException {
        pushBlob(repo, image.config(), image.layout());
        for (OciImage.Blob layer : image.layers()) {
            pushBlob(repo, layer, image.layout());
        }
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri("/v2/" + repo + "/manifests/" + tag))
                .header("Content-Type", image.mediaType()).PUT(HttpRequest.BodyPublishers.ofByteArray(image.manifest())).build(),
                HttpResponse.BodyHandlers.ofString());
        expect(r, 201, "PUT manifest " + repo + ":" + tag);
    }

    private void pushBlob(String repo, OciImage.Blob blob, Path layout) throws IOException, InterruptedException {
        HttpResponse<Void> head = http.send(HttpRequest.newBuilder(uri("/v2/" + repo + "/blobs/" + blob.digest()))
                .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.discarding());
        if (head.statusCode() == 200) {
            return;
        }
        HttpResponse<String> start = http.send(HttpRequest.newBuilder(uri("/v2/" + repo + "/blobs/uploads/"))
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        expect(start, 202, "start upload of " + blob.digest());
        String location = start.headers().firstValue("Location").orElseThrow(() -> new IOException("upload without Location"));
        URI put = URI.create(base).resolve(location + (location.contains("?") ? "&" : "?") + "digest=" + blob.digest());
        HttpResponse<String> done = http.send(HttpRequest.newBuilder(put).header("Content-Type", "application/octet-stream")
                .PUT(HttpRequest.BodyPublishers.ofFile(blob.in(layout))).build(), HttpResponse.BodyHandlers.ofString());
        expect(done, 201, "upload of " + blob.digest());
    }

    OciImage manifest(String repo, String tag) throws IOException, InterruptedException {
        HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(uri("/v2/" + repo + "/manifests/" + tag))
                .header("Accept", "application/vnd.oci.image.manifest.v1+json").build(), HttpResponse.BodyHandlers.ofByteArray());
        if (r.statusCode() != 200) {
            throw new IOException("GET manifest " + repo + ":" + tag + " answered " + r.statusCode());
        }
        return OciImage.parse(null, r.body(), r.headers().firstValue("Content-Type").orElse(""));
    }

    /** Downloads a blob to {@code file}, checking its size and sha256. */
    void download(String repo, OciImage.Blob blob, Path file) throws IOException, InterruptedException {
        HttpResponse<InputStream> r = http.send(HttpRequest.newBuilder(uri("/v2/" + repo + "/blobs/" + blob.digest())).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        try (InputStream in = r.body(); OutputStream out = Files.newOutputStream(file)) {
            if (r.statusCode() != 200) {
                throw new IOException("GET blob " + blob.digest() + " answered " + r.statusCode());
            }
            MessageDigest sha = sha256();
            byte[] buf = new byte[256 * 1024];
            long total = 0;
            int n;
            while ((n = in.read(buf)) > 0) {
                sha.update(buf, 0, n);
                out.write(buf, 0, n);
                total += n;
            }
            String got = "sha256:" + HexFormat.of().formatHex(sha.digest());
            if (total != blob.size() || !got.equals(blob.digest())) {
                throw new IOException("blob " + blob.digest() + ": got " + total + " bytes with " + got);
            }
        }
    }

    private URI uri(String path) {
        return URI.create(base + path);
    }

    private static void expect(HttpResponse<?> r, int status, String what) throws IOException {
        if (r.statusCode() != status) {
            throw new IOException(what + " answered " + r.statusCode() + ": " + r.body());
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
