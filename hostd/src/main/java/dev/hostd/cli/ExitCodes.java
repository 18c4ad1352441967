package dev.hostd.cli;

/**
 * The exit codes of {@code hostctl}; scripts may rely on them (docs/hostctl.md).
 *
 * <p>Problem codes of the API (docs/api-v1-draft.md) map onto them in {@link #forProblem}.
 */
public final class ExitCodes {
    public static final int OK = 0;
    /** Bad command line: unknown command or option, missing or malformed argument. */
    public static final int USAGE = 1;
    /** The template, sandbox or file does not exist (404 not-found). */
    public static final int NOT_FOUND = 2;
    /** The request conflicts with the current state, e.g. a duplicate id (409 conflict). */
    public static final int CONFLICT = 3;
    /** The daemon refused the input (400 invalid-input, 413 payload-too-large, 415 unsupported-media-type). */
    public static final int INVALID_INPUT = 4;
    /**
     * A limit is reached, the daemon is not ready, or the host cannot do it (429 limit-exceeded, 503 unavailable,
     * host-unavailable, 422 unsupported-host).
     */
    public static final int UNAVAILABLE = 5;
    /** No HTTP answer from the daemon: socket missing, connection refused, permission denied, no answer in time. */
    public static final int UNREACHABLE = 6;
    /** The daemon or a guest failed (500 internal, 502 guest-failure, 504 timeout, 422 corrupt), or a corrupt state file. */
    public static final int FAILURE = 7;

    private ExitCodes() {}

    /** The exit code for an API problem: by its stable {@code code}, else by HTTP status. */
    static int forProblem(String code, int status) {
        if (code != null) {
            switch (code) {
                case "not-found": return NOT_FOUND;
                case "conflict": return CONFLICT;
                case "invalid-input", "payload-too-large", "unsupported-media-type": return INVALID_INPUT;
                case "limit-exceeded", "unavailable", "host-unavailable", "unsupported-host": return UNAVAILABLE;
                case "guest-failure", "timeout", "corrupt", "internal": return FAILURE;
                default: break; // a code newer than this hostctl: fall back to the status
            }
        }
        if (status == 404) {
            return NOT_FOUND;
        }
        if (status == 409) {
            return CONFLICT;
        }
        if (status == 429 || status == 503) {
            return UNAVAILABLE;
        }
        if (status >= 400 && status < 500) {
            return INVALID_INPUT;
        }
        return FAILURE;
    }
}
