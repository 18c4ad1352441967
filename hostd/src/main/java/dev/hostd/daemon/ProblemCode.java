package dev.hostd.daemon;

/**
 * The stable problem codes of API v1 (docs/api-v1-draft.md): each is the last segment of the
 * problem's {@code type} URI and the value of its {@code code} member. Never renamed.
 */
public enum ProblemCode {
    INVALID_INPUT("invalid-input", 400, "Invalid input"),
    NOT_FOUND("not-found", 404, "Not found"),
    METHOD_NOT_ALLOWED("method-not-allowed", 405, "Method not allowed"),
    CONFLICT("conflict", 409, "Conflict"),
    PAYLOAD_TOO_LARGE("payload-too-large", 413, "Payload too large"),
    UNSUPPORTED_MEDIA_TYPE("unsupported-media-type", 415, "Unsupported media type"),
    CORRUPT("corrupt", 422, "Template corrupt"),
    /** The host cannot run the requested guest at all (a Linux template without vmx/svm): retrying here will not help. */
    UNSUPPORTED_HOST("unsupported-host", 422, "Guest not supported on this host"),
    LIMIT_EXCEEDED("limit-exceeded", 429, "Limit exceeded"),
    INTERNAL("internal", 500, "Internal error"),
    GUEST_FAILURE("guest-failure", 502, "Guest failure"),
    UNAVAILABLE("unavailable", 503, "Service unavailable"),
    HOST_UNAVAILABLE("host-unavailable", 503, "Host resources unavailable"),
    TIMEOUT("timeout", 504, "Guest timeout");

    public static final String TYPE_PREFIX = "https://hostd.dev/problems/";

    private final String code;
    private final int status;
    private final String title;

    ProblemCode(String code, int status, String title) {
        this.code = code;
        this.status = status;
        this.title = title;
    }

    public String code() { return code; }
    public int status() { return status; }
    public String title() { return title; }
    public String type() { return TYPE_PREFIX + code; }

    /** The code for a status the framework answered with (unknown route, bad JSON, wrong media type...). */
    public static ProblemCode forStatus(int status) {
        return switch (status) {
            case 404 -> NOT_FOUND;
            case 405 -> METHOD_NOT_ALLOWED;
            case 409 -> CONFLICT;
            case 413 -> PAYLOAD_TOO_LARGE;
            case 415 -> UNSUPPORTED_MEDIA_TYPE;
            case 429 -> LIMIT_EXCEEDED;
            case 503 -> UNAVAILABLE;
            case 504 -> TIMEOUT;
            default -> status >= 500 ? INTERNAL : INVALID_INPUT;
        };
    }
}
