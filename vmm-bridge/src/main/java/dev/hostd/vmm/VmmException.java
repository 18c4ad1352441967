package dev.hostd.vmm;

import dev.hostd.vmm.internal.linux.Errno;

/**
 * The one exception type of vmm-bridge: names the operation that failed, the errno when a system
 * call failed, and what the user can do about it. The API maps {@link #kind()} to stable problem
 * types, so kinds are never renamed.
 */
public class VmmException extends RuntimeException {
    /** Why it failed, coarse enough for an API to map to a status code. */
    public enum Kind {
        /** /dev/kvm missing, unusable or lacking a capability. */
        KVM_UNAVAILABLE,
        /** The host ran out of memory, file descriptors or another resource. */
        RESOURCE_EXHAUSTED,
        /** The caller passed something invalid (guest image, sizes, identity...). */
        INVALID_INPUT,
        /** The guest crashed, panicked or broke the device protocol. */
        GUEST_FAILURE,
        /** The operation does not fit the VM's current state (e.g. saving a running VM). */
        INVALID_STATE,
        /** Waiting for the guest took longer than allowed. */
        TIMEOUT,
        /** Anything else: a bug or an unexpected kernel answer. */
        INTERNAL
    }

    private final Kind kind;
    private final String operation;
    private final int errno;

    public VmmException(Kind kind, String operation, String message) {
        this(kind, operation, 0, message, null);
    }

    public VmmException(Kind kind, String operation, String message, Throwable cause) {
        this(kind, operation, 0, message, cause);
    }

    private VmmException(Kind kind, String operation, int errno, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
        this.operation = operation;
        this.errno = errno;
    }

    /** A failed system call: "KVM_CREATE_VM failed: ENOMEM (host out of memory ...)". */
    public static VmmException fromErrno(String operation, int errno) {
        String hint = hint(operation, errno);
        String message = operation + " failed: " + Errno.name(errno) + (hint.isEmpty() ? "" : " (" + hint + ")");
        return new VmmException(kindOf(operation, errno), operation, errno, message, null);
    }

    public Kind kind() {
        return kind;
    }

    public String operation() {
        return operation;
    }

    /** The errno of the failed system call, or 0 when the failure was not a system call's. */
    public int errno() {
        return errno;
    }

    private static Kind kindOf(String operation, int errno) {
        if (operation.startsWith("open /dev/kvm")) {
            return Kind.KVM_UNAVAILABLE;
        }
        return switch (errno) {
            case Errno.ENOMEM, Errno.EMFILE, Errno.ENFILE, Errno.ENOSPC, Errno.EAGAIN -> Kind.RESOURCE_EXHAUSTED;
            default -> Kind.INTERNAL;
        };
    }

    private static String hint(String operation, int errno) {
        if (operation.startsWith("open /dev/kvm")) {
            return switch (errno) {
                case Errno.ENOENT -> "this host has no /dev/kvm: load a KVM module (kvm_intel, kvm_amd or kvm_pvm) or run on a host with virtualization";
                case Errno.EACCES, Errno.EPERM -> "no permission on /dev/kvm: run hostd as root or in the kvm group";
                case Errno.ENODEV, Errno.ENXIO -> "the KVM device exists but no hypervisor backs it: check that the KVM module loaded";
                default -> "";
            };
        }
        return switch (errno) {
            case Errno.ENOMEM -> "host out of memory";
            case Errno.EMFILE -> "process out of file descriptors: raise the open-files limit (LimitNOFILE)";
            case Errno.ENFILE -> "system out of file descriptors: raise fs.file-max";
            case Errno.ENOSPC -> "no space left (memory file system or kernel object limit)";
            case Errno.EAGAIN -> "resource temporarily unavailable: retry later";
            default -> "";
        };
    }
}
