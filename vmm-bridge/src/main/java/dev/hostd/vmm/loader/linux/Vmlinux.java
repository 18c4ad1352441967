package dev.hostd.vmm.loader.linux;

import dev.hostd.vmm.VmmException;

/**
 * The vmlinux ELF inside a bzImage: the payload the setup header points at (payload_offset and
 * payload_length, relative to the protected-mode kernel) is the compressed ELF followed by its
 * uncompressed size as a u32 (the kernel build's size_append). Only LZ4 is decoded, which is what
 * Debian's cloud kernel uses; another compression is refused by name.
 */
public final class Vmlinux {
    /** More than any x86-64 kernel; a corrupt size word must not make us allocate gigabytes. */
    static final long MAX_SIZE = 512L << 20;

    private Vmlinux() {}

    /** Extracts the vmlinux ELF from the bzImage {@code file}. */
    public static byte[] extract(byte[] file) {
        BzImage image = BzImage.parse(file);
        int start = Math.toIntExact(image.payloadFileOffset());
        int end = Math.toIntExact(start + image.payloadLength());
        if (image.payloadLength() < 8) {
            throw invalid("payload_length " + image.payloadLength() + " is too short for a compressed kernel");
        }
        String format = compression(file, start);
        if (!format.equals("lz4")) {
            throw invalid("the payload is " + format + "-compressed; only LZ4 (CONFIG_KERNEL_LZ4) is supported");
        }
        long declared = Integer.toUnsignedLong(Lz4Legacy.le32(file, end - 4));
        if (declared > MAX_SIZE) {
            throw invalid("the payload's trailing size says vmlinux is " + declared + " bytes, more than " + MAX_SIZE);
        }
        byte[] elf = Lz4Legacy.decode(file, start, end - 4, (int) declared);
        return elf;
    }

    /** Names the payload's compression by its magic bytes, as the kernel's decompressors know them. */
    static String compression(byte[] file, int at) {
        int b0 = file[at] & 0xFF, b1 = file[at + 1] & 0xFF;
        if (Lz4Legacy.le32(file, at) == Lz4Legacy.MAGIC) {
            return "lz4";
        }
        if (b0 == 0x1F && b1 == 0x8B) {
            return "gzip";
        }
        if (b0 == 0xFD && b1 == '7') {
            return "xz";
        }
        if (Lz4Legacy.le32(file, at) == 0xFD2FB528) {
            return "zstd";
        }
        if (b0 == 'B' && b1 == 'Z') {
            return "bzip2";
        }
        if (b0 == 0x5D && b1 == 0) {
            return "lzma";
        }
        if (b0 == 0x89 && b1 == 'L') {
            return "lzo";
        }
        return String.format("unknown (magic %02x %02x)", b0, b1);
    }

    private static VmmException invalid(String message) {
        return new VmmException(VmmException.Kind.INVALID_INPUT, "extract vmlinux", "cannot extract vmlinux from the bzImage: " + message);
    }
}
