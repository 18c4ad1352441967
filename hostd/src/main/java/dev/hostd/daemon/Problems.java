package dev.hostd.daemon;

import dev.hostd.template.TemplateException;
import dev.hostd.vmm.VmmException;
import io.micronaut.context.annotation.Replaces;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.MutableHttpResponse;
import io.micronaut.http.annotation.Produces;
import io.micronaut.http.server.exceptions.ExceptionHandler;
import io.micronaut.http.server.exceptions.response.ErrorContext;
import io.micronaut.http.server.exceptions.response.ErrorResponseProcessor;
import jakarta.inject.Singleton;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every error the API answers becomes an RFC 9457 {@code application/problem+json} body: the
 * daemon's own failures ({@link ApiException}), the engine's ({@link TemplateException},
 * {@link VmmException}, by their kind) and the framework's (unknown route, bad JSON, wrong media
 * type, body too large), through one {@link ErrorResponseProcessor}.
 */
public final class Problems {
    private static final Logger LOG = LoggerFactory.getLogger(Problems.class);

    private Problems() {}

    public static ProblemCode codeOf(TemplateException.Kind kind) {
        return switch (kind) {
            case NOT_FOUND -> ProblemCode.NOT_FOUND;
            case CONFLICT -> ProblemCode.CONFLICT;
            case INVALID_INPUT -> ProblemCode.INVALID_INPUT;
            case CORRUPT -> ProblemCode.CORRUPT;
            case GUEST_FAILURE -> ProblemCode.GUEST_FAILURE;
            case TIMEOUT -> ProblemCode.TIMEOUT;
            case HOST_UNAVAILABLE -> ProblemCode.HOST_UNAVAILABLE;
            case UNSUPPORTED_HOST -> ProblemCode.UNSUPPORTED_HOST;
            case INTERNAL -> ProblemCode.INTERNAL;
        };
    }

    public static ProblemCode codeOf(VmmException.Kind kind) {
        return switch (kind) {
            case KVM_UNAVAILABLE, RESOURCE_EXHAUSTED -> ProblemCode.HOST_UNAVAILABLE;
            case INVALID_INPUT -> ProblemCode.INVALID_INPUT;
            case GUEST_FAILURE -> ProblemCode.GUEST_FAILURE;
            case INVALID_STATE -> ProblemCode.CONFLICT;
            case TIMEOUT -> ProblemCode.TIMEOUT;
            case INTERNAL -> ProblemCode.INTERNAL;
        };
    }

    /** The problem for any exception a route threw. */
    public static ApiException toApi(Throwable t) {
        return switch (t) {
            case ApiException a -> a;
            case TemplateException e -> new ApiException(refine(e), e.getMessage());
            case VmmException e -> new ApiException(codeOf(e.kind()), e.getMessage());
            case IllegalArgumentException e -> new ApiException(ProblemCode.INVALID_INPUT, e.getMessage());
            default -> new ApiException(ProblemCode.INTERNAL, t.getClass().getSimpleName() + ": " + t.getMessage());
        };
    }

    /** template-store reports a VM in the wrong state as INTERNAL; the API says conflict. */
    private static ProblemCode refine(TemplateException e) {
        if (e.kind() == TemplateException.Kind.INTERNAL && e.getCause() instanceof VmmException v) {
            return codeOf(v.kind());
        }
        return codeOf(e.kind());
    }

    static MutableHttpResponse<Problem> response(ApiException e, HttpRequest<?> request, Metrics metrics) {
        ProblemCode code = e.code();
        if (code.status() >= 500) {
            LOG.warn("{} {} failed: {} {}", request.getMethodName(), request.getPath(), code.code(), e.getMessage());
        }
        metrics.failure(code.code());
        return HttpResponse.<Problem>status(HttpStatus.valueOf(code.status()))
                .contentType(Problem.MEDIA_TYPE)
                .body(Problem.of(code, e.getMessage(), request.getPath(), e.limit()));
    }

    /**
     * Turns the engine's and the daemon's exceptions into problems. The framework's own exceptions
     * have more specific handlers, which end in {@link FrameworkErrors}.
     */
    @Singleton
    @Produces(Problem.MEDIA_TYPE)
    public static final class Handler implements ExceptionHandler<RuntimeException, HttpResponse<Problem>> {
        private final Metrics metrics;

        public Handler(Metrics metrics) {
            this.metrics = metrics;
        }

        @Override
        public HttpResponse<Problem> handle(HttpRequest request, RuntimeException exception) {
            ApiException api = toApi(exception);
            if (api.code() == ProblemCode.INTERNAL) {
                LOG.error("{} {} failed", request.getMethodName(), request.getPath(), exception);
            }
            return response(api, request, metrics);
        }
    }

    /** Framework errors (404 route, 405, 415, 413, JSON syntax, missing body...) as problems too. */
    @Singleton
    @Replaces(ErrorResponseProcessor.class)
    public static final class FrameworkErrors implements ErrorResponseProcessor<Problem> {
        private final Metrics metrics;
        private final HostdConfig config;

        public FrameworkErrors(Metrics metrics, HostdConfig config) {
            this.metrics = metrics;
            this.config = config;
        }

        @Override
        public MutableHttpResponse<Problem> processResponse(ErrorContext context, MutableHttpResponse<?> response) {
            ProblemCode code = ProblemCode.forStatus(response.code());
            String detail = context.getErrors().stream().map(e -> e.getMessage()).collect(Collectors.joining("; "));
            if (detail.isBlank()) {
                detail = context.getRootCause().map(Throwable::getMessage).orElse(code.title());
            }
            // "Failed to convert argument [request] for value [null] due to: X" says no more than X
            detail = detail.replaceAll("Failed to convert argument \\[\\w+] for value \\[[^]]*] due to: ", "");
            String limit = null;
            if (code == ProblemCode.PAYLOAD_TOO_LARGE) {
                limit = HostdConfig.MAX_PAYLOAD_KEY;
                detail = "request body larger than " + config.maxRequestBytes() + " bytes, the most an invoke argument of "
                        + HostdConfig.MAX_PAYLOAD_KEY + "=" + config.maxPayloadBytes() + " bytes needs in base64 (" + detail + ")";
            } else if (code == ProblemCode.NOT_FOUND && response.code() == 404 && detail.equals("Page Not Found")) {
                detail = "no such API path: " + context.getRequest().getMethodName() + " " + context.getRequest().getPath();
            }
            metrics.failure(code.code());
            MutableHttpResponse<Problem> r = (MutableHttpResponse<Problem>) response;
            return r.contentType(MediaType.of(Problem.MEDIA_TYPE))
                    .body(Problem.of(code, detail, context.getRequest().getPath(), limit));
        }
    }
}
