package dev.hostd.image;

/**
 * The one exception type of nydus-mount: the operation that failed, an errno-style name that the
 * FUSE frontend returns to the kernel (EIO, ENOENT, EINVAL...) and a hint for the operator.
 */
public class ImageException extends RuntimeException {
    private final String operation;
    private final String errno;

    public ImageException(String operation, String errno, String message) {
        super(operation + " failed: " + errno + " (" + message + ")");
        this.operation = operation;
        this.errno = errno;
    }

    public ImageException(String operation, String errno, String message, Throwable cause) {
        super(operation + " failed: " + errno + " (" + message + ")", cause);
        this.operation = operation;
        this.errno = errno;
    }

    /** A malformed image file (bootstrap, trace, layout, tar): EINVAL. */
    public static ImageException corrupt(String operation, String what) {
        return new ImageException(operation, "EINVAL", what);
    }

    public String operation() {
        return operation;
    }

    public String errno() {
        return errno;
    }
}
