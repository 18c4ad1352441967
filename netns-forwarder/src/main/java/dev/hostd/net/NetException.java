package dev.hostd.net;

import dev.hostd.net.internal.Errno;

/**
 * The one exception type of netns-forwarder: names the operation that failed, the errno when a
 * system call or netlink request failed, and what the user can do about it.
 */
public class NetException extends RuntimeException {
    private final String operation;
    private final int errno;

    public NetException(String operation, String message) {
        this(operation, 0, message, null);
    }

    public NetException(String operation, String message, Throwable cause) {
        this(operation, 0, message, cause);
    }

    private NetException(String operation, int errno, String message, Throwable cause) {
        super(message, cause);
        this.operation = operation;
        this.errno = errno;
    }

    /** A failed system call or netlink request: "TUNSETIFF t1 failed: EPERM (...)". */
    public static NetException fromErrno(String operation, int errno) {
        String hint = hint(errno);
        return new NetException(operation, errno, operation + " failed: " + Errno.name(errno) + (hint.isEmpty() ? "" : " (" + hint + ")"), null);
    }

    public String operation() {
        return operation;
    }

    /** The errno of the failed call, or 0 when the failure was not a system call's. */
    public int errno() {
        return errno;
    }

    private static String hint(int errno) {
        return switch (errno) {
            case Errno.EPERM, Errno.EACCES -> "needs CAP_NET_ADMIN: run hostd as root";
            case Errno.ENOENT -> "no such device, namespace or object";
            case Errno.ENODEV -> "no such network device (or /dev/net/tun missing: load the tun module)";
            case Errno.EEXIST -> "already exists";
            case Errno.EBUSY -> "device or resource busy";
            case Errno.ENOMEM -> "host out of memory";
            case Errno.EMFILE -> "process out of file descriptors: raise the open-files limit (LimitNOFILE)";
            case Errno.ENFILE -> "system out of file descriptors: raise fs.file-max";
            default -> "";
        };
    }
}
