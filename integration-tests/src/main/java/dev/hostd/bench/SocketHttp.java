package dev.hostd.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;
import org.apache.hc.client5.http.classic.methods.HttpDelete;
import org.apache.hc.client5.http.classic.methods.HttpGet;
import org.apache.hc.client5.http.classic.methods.HttpPost;
import org.apache.hc.client5.http.classic.methods.HttpUriRequestBase;
import org.apache.hc.client5.http.config.RequestConfig;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.classic.HttpClients;
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManagerBuilder;
import org.apache.hc.core5.http.ContentType;
import org.apache.hc.core5.http.Header;
import org.apache.hc.core5.http.io.entity.EntityUtils;
import org.apache.hc.core5.http.io.entity.StringEntity;
import org.apache.hc.core5.util.Timeout;

/** The daemon's API over its Unix socket, as a scheduler would call it: pooled keep-alive connections. */
final class SocketHttp implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper();

    /** An answer; {@code serverTiming} is the daemon's Server-Timing header ("" if none). */
    record Answer(int status, String body, String serverTiming) {
        /** The {@code dur} of one Server-Timing metric, in milliseconds; NaN if absent. */
        double timing(String metric) {
            for (String part : serverTiming.split(",")) {
                String p = part.trim();
                if (p.startsWith(metric + ";dur=")) {
                    return Double.parseDouble(p.substring(metric.length() + 5));
                }
            }
            return Double.NaN;
        }

        JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    private final CloseableHttpClient http;

    SocketHttp(Path socket, int connections) {
        this.http = HttpClients.custom()
                .setDefaultRequestConfig(RequestConfig.custom().setUnixDomainSocket(socket).setResponseTimeout(Timeout.ofSeconds(60)).build())
                .setConnectionManager(PoolingHttpClientConnectionManagerBuilder.create()
                        .setMaxConnTotal(connections).setMaxConnPerRoute(connections).build())
                .disableAutomaticRetries()
                .build();
    }

    Answer get(String path) {
        return send(new HttpGet("http://hostd" + path));
    }

    Answer post(String path, String json) {
        HttpPost post = new HttpPost("http://hostd" + path);
        post.setEntity(new StringEntity(json, ContentType.APPLICATION_JSON));
        return send(post);
    }

    Answer delete(String path) {
        return send(new HttpDelete("http://hostd" + path));
    }

    private Answer send(HttpUriRequestBase request) {
        try {
            return http.execute(request, r -> new Answer(r.getCode(), r.getEntity() == null ? "" : EntityUtils.toString(r.getEntity()),
                    Arrays.stream(r.getHeaders("Server-Timing")).map(Header::getValue).collect(Collectors.joining(", "))));
        } catch (IOException e) {
            throw new UncheckedIOException(request.getMethod() + " " + request.getRequestUri(), e);
        }
    }

    @Override
    public void close() throws IOException {
        http.close();
    }
}
