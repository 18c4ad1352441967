package dev.hostd.image.backend;

import dev.hostd.image.ImageException;
import dev.hostd.image.format.Digest;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Pattern;

/**
 * The OCI distribution API calls nydus-mount needs, over the JDK's HttpClient: blob range reads,
 * whole-blob and manifest reads, monolithic blob upload and manifest put. No auth (a registry on
 * the host's own network); TLS works when the URI is https.
 */
public final class RegistryClient {
    public static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
    private static final Pattern REPOSITORY = Pattern.compile("[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*");
    private static final Pattern TAG = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|sha256:[0-9a-f]{64}");

    private final URI base;
    private final String repository;
    private final HttpClient http;
    private final Duration timeout;

    public RegistryClient(URI base, String repository, Duration timeout) {
        if (!REPOSITORY.matcher(repository).matches()) {
            throw new ImageException("registry", "EINVAL", "invalid repository name '" + repository + "'");
        }
        String b = base.toString();
        this.base = URI.create(b.endsWith("/") ? b.substring(0, b.length() - 1) : b);
        this.repository = repository;
        this.timeout = timeout;
        this.http = HttpClient.newBuilder().connectTimeout(timeout).followRedirects(HttpClient.Redirect.NORMAL)
                .version(HttpClient.Version.HTTP_1_1).build();
    }

    public String describe() {
        return "registry " + base + " repository " + repository;
    }

    private URI uri(String path) {
        return URI.create(base + "/v2/" + repository + path);
    }

    private static void checkRef(String ref) {
        if (!TAG.matcher(ref).matches()) {
            throw new ImageException("registry", "EINVAL", "invalid tag or digest '" + ref + "'");
        }
    }

    /**
     * Bytes {@code [offset, offset+length)} of {@code blob} (an HTTP Range request) as the response
     * body stream, closed by the caller, once the status and Content-Range are checked: the caller
     * reads exactly {@code length} bytes and treats a short stream as a transport error.
     * IOException on transport errors and 5xx (retried by the caller).
     */
    public java.io.InputStream rangeStream(Digest blob, long offset, int length) throws IOException {
        HttpRequest req = HttpRequest.newBuilder(uri("/blobs/" + blob)).timeout(timeout)
                .header("Range", "bytes=" + offset + "-" + (offset + length - 1)).GET().build();
        HttpResponse<java.io.InputStream> r;
        try {
            r = http.send(req, HttpResponse.BodyHandlers.ofInputStream());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        java.io.InputStream body = r.body();
        boolean ok = false;
        try {
            if (r.statusCode() != 206) {
                byte[] start = body.readNBytes(300);
                throw status("read range of blob " + blob, new StatusOnly(r.statusCode(), start));
            }
            String cr = r.headers().firstValue("Content-Range").orElse("");
            long declared = r.headers().firstValueAsLong("Content-Length").orElse(length);
            if (!cr.startsWith("bytes " + offset + "-" + (offset + length - 1) + "/") || declared != length) {
                throw new IOException("registry answered range " + offset + "+" + length + " of " + blob + " with '" + cr
                        + "' and Content-Length " + declared);
            }
            ok = true;
            return body;
        } finally {
            if (!ok) {
                body.close();
            }
        }
    }

    /** The status and first body bytes of a response, for {@link #status}. */
    private record StatusOnly(int statusCode, byte[] body) {
    }

    public byte[] blob(Digest blob, long maxSize) throws IOException {
        HttpResponse<byte[]> r = send(HttpRequest.newBuilder(uri("/blobs/" + blob)).timeout(timeout).GET().build());
        if (r.statusCode() != 200) {
            throw status("read blob " + blob, r);
        }
        if (r.body().length > maxSize || !Digest.sha256(r.body()).equals(blob)) {
            throw new ImageException("read blob " + blob, "EIO", "content does not match its digest (or exceeds "
                    + maxSize + " bytes)");
        }
        return r.body();
    }

    public byte[] manifest(String reference) throws IOException {
        checkRef(reference);
        HttpResponse<byte[]> r = send(HttpRequest.newBuilder(uri("/manifests/" + reference)).timeout(timeout)
                .header("Accept", OCI_MANIFEST).GET().build());
        if (r.statusCode() != 200) {
            throw status("read manifest " + reference, r);
        }
        return r.body();
    }

    public boolean hasBlob(Digest blob) throws IOException {
        HttpResponse<byte[]> r = send(HttpRequest.newBuilder(uri("/blobs/" + blob)).timeout(timeout)
                .method("HEAD", HttpRequest.BodyPublishers.noBody()).build());
        return r.statusCode() == 200;
    }

    /** Monolithic upload: POST a session, PUT the content with its digest. Skipped when the blob exists. */
    public void pushBlob(Digest blob, HttpRequest.BodyPublisher content) throws IOException {
        if (hasBlob(blob)) {
            return;
        }
        HttpResponse<byte[]> start = send(HttpRequest.newBuilder(uri("/blobs/uploads/")).timeout(timeout)
                .POST(HttpRequest.BodyPublishers.noBody()).build());
        if (start.statusCode() != 202) {
            throw status("start upload of " + blob, start);
        }
        String location = start.headers().firstValue("Location")
                .orElseThrow(() -> new IOException("registry gave no upload Location"));
        URI put = base.resolve(location);
        String sep = put.getQuery() == null ? "?" : "&";
        HttpResponse<byte[]> done = send(HttpRequest.newBuilder(URI.create(put + sep + "digest=" + blob))
                .timeout(Duration.ofMinutes(10)).header("Content-Type", "application/octet-stream").PUT(content).build());
        if (done.statusCode() != 201) {
            throw status("upload " + blob, done);
        }
    }

    public void pushBlob(Digest blob, Path file) throws IOException {
        pushBlob(blob, HttpRequest.BodyPublishers.ofFile(file));
    }

    public void pushBlob(Digest blob, byte[] bytes) throws IOException {
        pushBlob(blob, HttpRequest.BodyPublishers.ofByteArray(bytes));
    }

    public void putManifest(String tag, byte[] manifest) throws IOException {
        checkRef(tag);
        HttpResponse<byte[]> r = send(HttpRequest.newBuilder(uri("/manifests/" + tag)).timeout(timeout)
                .header("Content-Type", OCI_MANIFEST).PUT(HttpRequest.BodyPublishers.ofByteArray(manifest)).build());
        if (r.statusCode() != 201) {
            throw status("put manifest " + tag, r);
        }
    }

    private HttpResponse<byte[]> send(HttpRequest req) throws IOException {
        try {
            return http.send(req, HttpResponse.BodyHandlers.ofByteArray());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    private IOException status(String what, HttpResponse<byte[]> r) {
        return status(what, new StatusOnly(r.statusCode(), r.body()));
    }

    private IOException status(String what, StatusOnly r) {
        String body = new String(r.body(), 0, Math.min(r.body().length, 300), java.nio.charset.StandardCharsets.UTF_8);
        if (r.statusCode() >= 500 || r.statusCode() == 429) {
            return new IOException(what + ": HTTP " + r.statusCode() + " " + body);
        }
        throw new ImageException(what, r.statusCode() == 404 ? "ENOENT" : "EIO",
                describe() + " answered HTTP " + r.statusCode() + " " + body);
    }
}
