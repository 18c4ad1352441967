package dev.hostd.template;

/**
 * The one exception type of template-store. {@link Kind} is what an API maps to a status and a
 * stable problem type; the message says what was wrong and what to do.
 */
public class TemplateException extends RuntimeException {
    public enum Kind {
        /** No template (or sandbox) with that id. */
        NOT_FOUND,
        /** A template with that id exists already, or an identity is already in use. */
        CONFLICT,
        /** The request itself is invalid (id syntax, sizes, identity). */
        INVALID_INPUT,
        /** Files on disk are corrupt, truncated or of another format version. */
        CORRUPT,
        /** The guest did not come up, or failed during build or clone. */
        GUEST_FAILURE,
        /** Waiting for the guest took too long. */
        TIMEOUT,
        /** The host lacks something: /dev/kvm, memory, file descriptors. */
        HOST_UNAVAILABLE,
        /** The host cannot run this kind of guest at all (a Linux guest without vmx/svm); retrying will not help. */
        UNSUPPORTED_HOST,
        INTERNAL
    }

    private final Kind kind;

    public TemplateException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public TemplateException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }
}
