package dev.hostd.cgroup;

import dev.hostd.cgroup.internal.CgroupFiles;

/**
 * The one exception of cgroup-tuner: what was being done, the errno (if a system call failed)
 * and what the user can do about it. {@link #invalidInput()} tells bad limits from host trouble.
 */
public final class CgroupException extends RuntimeException {
    private final String operation;
    private final String errno;
    private final boolean invalidInput;

    private CgroupException(String operation, String errno, String message, boolean invalidInput) {
        super(message);
        this.operation = operation;
        this.errno = errno;
        this.invalidInput = invalidInput;
    }

    /** A system call on a cgroup file failed with {@code -negativeErrno}. */
    public static CgroupException fromErrno(String operation, int negativeErrno, String hint) {
        String name = CgroupFiles.errnoName(-negativeErrno);
        return new CgroupException(operation, name, operation + " failed: " + name + (hint == null ? "" : " (" + hint + ")"), false);
    }

    /** The host cannot do what was asked (no controller, not mounted, not delegated). */
    public static CgroupException unavailable(String operation, String message) {
        return new CgroupException(operation, null, operation + ": " + message, false);
    }

    /** The caller asked for something invalid (limits out of range, a bad name). */
    public static CgroupException invalid(String operation, String message) {
        return new CgroupException(operation, null, operation + ": " + message, true);
    }

    public String operation() {
        return operation;
    }

    /** The errno name, or null when no system call failed. */
    public String errno() {
        return errno;
    }

    public boolean invalidInput() {
        return invalidInput;
    }
}
