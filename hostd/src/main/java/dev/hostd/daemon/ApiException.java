package dev.hostd.daemon;

/** A failure the API answers with a problem of a known code; {@code limit} names the setting that was hit, if any. */
public final class ApiException extends RuntimeException {
    private final ProblemCode code;
    private final String limit;

    public ApiException(ProblemCode code, String detail) {
        this(code, detail, null);
    }

    public ApiException(ProblemCode code, String detail, String limit) {
        super(detail);
        this.code = code;
        this.limit = limit;
    }

    public ProblemCode code() { return code; }
    public String limit() { return limit; }
}
