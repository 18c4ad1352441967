package dev.hostd.daemon;

import io.micronaut.http.HttpRequest;
import io.micronaut.http.MutableHttpResponse;
import io.micronaut.http.annotation.RequestFilter;
import io.micronaut.http.annotation.ResponseFilter;
import io.micronaut.http.annotation.ServerFilter;
import java.util.Locale;

/**
 * Adds a W3C {@code Server-Timing} header to every API answer: {@code hostd;dur=} is the time in
 * milliseconds from routing the request to its response (socket I/O and HTTP decoding excluded),
 * and a clone adds {@code clone;dur=}, the engine's part. A scheduler can tell where its latency
 * went; the API benchmark reports the same split.
 */
@ServerFilter({"/v1/**", "/metrics"})
public final class ServerTiming {
    static final String HEADER = "Server-Timing";
    private static final String START = "hostd.timing.start";

    @RequestFilter
    public void start(HttpRequest<?> request) {
        request.setAttribute(START, System.nanoTime());
    }

    @ResponseFilter
    public void finish(HttpRequest<?> request, MutableHttpResponse<?> response) {
        request.getAttribute(START, Long.class).ifPresent(t0 ->
                response.getHeaders().add(HEADER, "hostd;dur=" + millis(System.nanoTime() - t0)));
    }

    /** A duration in milliseconds with microsecond resolution, as Server-Timing's {@code dur} expects. */
    static String millis(long nanos) {
        return String.format(Locale.ROOT, "%.3f", nanos / 1e6);
    }
}
