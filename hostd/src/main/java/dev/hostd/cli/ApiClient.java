package dev.hostd.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.apache.hc.client5.http.classic.methods.HttpDelete;
import org.apache.hc.client5.http.classic.methods.HttpGet;
import org.apache.hc.client5.http.classic.methods.HttpPost;
import org.apache.hc.client5.http.classic.methods.HttpPut;
import org.apache.hc.client5.http.classic.methods.HttpUriRequestBase;
import org.apache.hc.client5.http.config.RequestConfig;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.classic.HttpClients;
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManagerBuilder;
import org.apache.hc.core5.http.ContentType;
import org.apache.hc.core5.http.HttpEntity;
import org.apache.hc.core5.http.io.SocketConfig;
import org.apache.hc.core5.http.io.entity.ByteArrayEntity;
import org.apache.hc.core5.http.io.entity.EntityUtils;
import org.apache.hc.core5.net.URIBuilder;
import org.apache.hc.core5.util.Timeout;

/**
 * The daemon's HTTP API over its Unix socket, with Apache HttpClient 5 (which opens the socket
 * through the JDK's Unix-domain channels). Problem answers become {@link CliException}s with the
 * exit code of their problem code; anything that keeps us from getting an HTTP answer at all is
 * {@link ExitCodes#UNREACHABLE} with a message naming the socket.
 */
final class ApiClient implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper();

    /** One HTTP answer. */
    record Response(int status, String contentType, byte[] body) {
        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }

        JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new CliException(ExitCodes.FAILURE, "the daemon answered HTTP " + status
                        + " with a body that is not JSON: " + e.getMessage());
            }
        }
    }

    private final Path socket;
    private final Duration timeout;
    private final CloseableHttpClient http;

    ApiClient(Path socket, Duration timeout) {
        this.socket = socket;
        this.timeout = timeout;
        Timeout t = Timeout.of(timeout);
        RequestConfig config = RequestConfig.custom()
                .setUnixDomainSocket(socket)
                .setConnectionRequestTimeout(t)
                .setResponseTimeout(t)
                .build();
        this.http = HttpClients.custom()
                .setDefaultRequestConfig(config)
                .setConnectionManager(PoolingHttpClientConnectionManagerBuilder.create()
                        .setDefaultSocketConfig(SocketConfig.custom().setSoTimeout(t).build())
                        .build())
                .disableAutomaticRetries()
                .disableRedirectHandling()
                .disableCookieManagement()
                .disableAuthCaching()
                .build();
    }

    Path socket() {
        return socket;
    }

    Response get(String... segments) {
        return get(Map.of(), segments);
    }

    /** GET with query parameters; null values are left out. */
    Response get(Map<String, String> query, String... segments) {
        return send(new HttpGet(uri(segments, query)));
    }

    Response post(JsonNode body, String... segments) {
        HttpPost post = new HttpPost(uri(segments, Map.of()));
        if (body != null) {
            try {
                post.setEntity(new ByteArrayEntity(JSON.writeValueAsBytes(body), ContentType.APPLICATION_JSON));
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }
        return send(post);
    }

    Response put(JsonNode body, String... segments) {
        HttpPut put = new HttpPut(uri(segments, Map.of()));
        try {
            put.setEntity(new ByteArrayEntity(JSON.writeValueAsBytes(body), ContentType.APPLICATION_JSON));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return send(put);
    }

    Response delete(String... segments) {
        return send(new HttpDelete(uri(segments, Map.of())));
    }

    /** {@code response} if it is a 2xx answer, else its problem as a {@link CliException}. */
    static Response expectSuccess(Response response) {
        if (response.status() / 100 == 2) {
            return response;
        }
        throw problem(response);
    }

    /** The problem an error answer carries: "title: detail" and the exit code of its code. */
    static CliException problem(Response r) {
        String code = null;
        String title = null;
        String detail = null;
        if (r.contentType() != null && r.contentType().contains("json")) {
            try {
                JsonNode p = JSON.readTree(r.body());
                if (p != null && p.isObject()) {
                    code = text(p, "code");
                    if (code == null) {
                        String type = text(p, "type");
                        code = type == null ? null : type.substring(type.lastIndexOf('/') + 1);
                    }
                    title = text(p, "title");
                    detail = text(p, "detail");
                }
            } catch (IOException ignored) {
                // not JSON after all: report the text below
            }
        }
        if (title == null) {
            title = "HTTP " + r.status();
        }
        if (detail == null && title.startsWith("HTTP ")) {
            String body = r.text().strip();
            int nl = body.indexOf('\n');
            detail = nl < 0 ? body : body.substring(0, nl);
            if (detail.length() > 200) {
                detail = detail.substring(0, 200) + "…";
            }
        }
        String message = detail == null || detail.isEmpty() ? title : title + ": " + detail;
        return new CliException(ExitCodes.forProblem(code, r.status()), message);
    }

    private static String text(JsonNode node, String field) {
        JsonNode v = node.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }

    private Response send(HttpUriRequestBase request) {
        if (!Files.exists(socket)) {
            throw unreachable("the socket does not exist (is hostd running? see systemctl status hostd)", null);
        }
        try {
            return http.execute(request, response -> {
                HttpEntity entity = response.getEntity();
                byte[] body = entity == null ? new byte[0] : EntityUtils.toByteArray(entity);
                String type = entity == null ? null : entity.getContentType();
                if (type == null && response.getFirstHeader("Content-Type") != null) {
                    type = response.getFirstHeader("Content-Type").getValue();
                }
                return new Response(response.getCode(), type, body);
            });
        } catch (ConnectException e) {
            throw unreachable("connection refused (no hostd is listening on it)", e);
        } catch (AccessDeniedException e) {
            throw unreachable("permission denied (run as root or as a member of group hostd)", e);
        } catch (InterruptedIOException e) {
            throw unreachable("no answer within " + timeout.toSeconds() + " s (see --timeout)", e);
        } catch (IOException e) {
            String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            if (m.toLowerCase().contains("permission denied")) {
                throw unreachable("permission denied (run as root or as a member of group hostd)", e);
            }
            if (m.toLowerCase().contains("connection refused")) {
                throw unreachable("connection refused (no hostd is listening on it)", e);
            }
            throw unreachable(m, e);
        }
    }

    private CliException unreachable(String why, Throwable cause) {
        return new CliException(ExitCodes.UNREACHABLE, "cannot reach hostd at " + socket + ": " + why, cause);
    }

    private static URI uri(String[] segments, Map<String, String> query) {
        try {
            URIBuilder b = new URIBuilder().setScheme("http").setHost("localhost").setPathSegments(segments);
            query.forEach((k, v) -> {
                if (v != null) {
                    b.addParameter(k, v);
                }
            });
            return b.build();
        } catch (URISyntaxException e) {
            throw new CliException(ExitCodes.USAGE, "bad path: " + e.getMessage());
        }
    }

    @Override
    public void close() {
        try {
            http.close();
        } catch (IOException ignored) {
            // nothing left to release that matters to a CLI
        }
    }
}
