package dev.hostd.vmm.snapshot;

/**
 * Caps that keep a hostile or broken file from making the reader allocate or loop without bound.
 * Every length in a file is checked against these and against the bytes that remain before it is used.
 */
final class Limits {
    /** Largest body a reader accepts or a writer produces. */
    static final long MAX_BODY_BYTES = 64L << 20;
    /** Largest vCPU count ({@code KVM_MAX_VCPUS} on x86-64). */
    static final int MAX_VCPUS = 4096;
    /** Largest XSAVE area: AMX makes it about 11 KiB today. */
    static final int MAX_XSAVE_BYTES = 256 << 10;
    /** Most MSRs saved per vCPU. */
    static final int MAX_MSRS = 4096;
    /** Longest string (UTF-8 bytes) anywhere in the file. */
    static final int MAX_STRING_BYTES = 1 << 20;
    /** Longest memory file name ({@code NAME_MAX}). */
    static final int MAX_FILE_NAME_BYTES = 255;

    private Limits() {}
}
