package dev.hostd.vmm.acpi;

import java.nio.charset.StandardCharsets;

/**
 * A small encoder for the ACPI Machine Language subset a DSDT of static devices needs (ACPI 6.5
 * §20.2): name strings, integers, strings, buffers, packages, Name, Scope and Device. Every method returns
 * the encoded bytes of one term, so terms nest by concatenation.
 */
public final class Aml {
    static final int ZERO_OP = 0x00, ONE_OP = 0x01, NAME_OP = 0x08, BYTE_PREFIX = 0x0A,
            WORD_PREFIX = 0x0B, DWORD_PREFIX = 0x0C, STRING_PREFIX = 0x0D, QWORD_PREFIX = 0x0E,
            SCOPE_OP = 0x10, BUFFER_OP = 0x11, PACKAGE_OP = 0x12, EXT_OP_PREFIX = 0x5B, DEVICE_OP = 0x82,
            ROOT_CHAR = 0x5C;
    /** Largest length a PkgLength can express: 28 bits. */
    static final int MAX_PKG_LENGTH = (1 << 28) - 1;

    private Aml() {}

    /**
     * PkgLength (§20.2.4) for a package whose contents after the PkgLength are {@code contentLength}
     * bytes. The encoded length counts the PkgLength bytes themselves. One byte holds up to 63 in
     * bits 0-5; longer forms put the count of following bytes (1-3) in bits 6-7, the low nibble in
     * bits 0-3, and the rest in the following bytes, least significant first.
     */
    public static byte[] pkgLength(int contentLength) {
        if (contentLength < 0) {
            throw new IllegalArgumentException("negative AML package length " + contentLength);
        }
        if (contentLength + 1 <= 0x3F) {
            return new byte[] {(byte) (contentLength + 1)};
        }
        for (int follow = 1; follow <= 3; follow++) {
            long total = (long) contentLength + 1 + follow;
            if (total < 1L << (4 + 8 * follow)) {
                byte[] b = new byte[1 + follow];
                b[0] = (byte) ((follow << 6) | (total & 0x0F));
                for (int i = 1; i <= follow; i++) {
                    b[i] = (byte) (total >>> (4 + 8 * (i - 1)));
                }
                return b;
            }
        }
        throw new IllegalArgumentException("AML package of " + contentLength + " bytes exceeds the 28-bit PkgLength");
    }

    /**
     * A NameString: one or more 4-character segments separated by dots, optionally rooted with a
     * leading backslash ({@code "\\_SB_"}, {@code "_HID"}). Segments shorter than 4 are padded with
     * underscores, as iasl does.
     */
    public static byte[] name(String path) {
        ByteWriter w = new ByteWriter();
        String rest = path;
        if (rest.startsWith("\\")) {
            w.u8(ROOT_CHAR);
            rest = rest.substring(1);
        }
        String[] segs = rest.split("\\.");
        if (segs.length == 2) {
            w.u8(0x2E); // DualNamePrefix
        } else if (segs.length > 2) {
            w.u8(0x2F).u8(segs.length); // MultiNamePrefix SegCount
        }
        for (String s : segs) {
            w.bytes(nameSeg(s));
        }
        return w.toByteArray();
    }

    private static byte[] nameSeg(String seg) {
        if (seg.isEmpty() || seg.length() > 4 || !seg.matches("[A-Z_][A-Z0-9_]*")) {
            throw new IllegalArgumentException("invalid AML name segment '" + seg
                    + "': 1-4 characters of A-Z, 0-9, _ not starting with a digit");
        }
        String padded = (seg + "___").substring(0, 4);
        return padded.getBytes(StandardCharsets.US_ASCII);
    }

    /** The shortest encoding of an unsigned integer: ZeroOp, OneOp, or a Byte/Word/DWord/QWord const. */
    public static byte[] integer(long v) {
        if (v == 0) {
            return new byte[] {ZERO_OP};
        }
        if (v == 1) {
            return new byte[] {ONE_OP};
        }
        ByteWriter w = new ByteWriter();
        if (v > 0 && v <= 0xFF) {
            w.u8(BYTE_PREFIX).u8((int) v);
        } else if (v > 0 && v <= 0xFFFF) {
            w.u8(WORD_PREFIX).u16((int) v);
        } else if (v > 0 && v <= 0xFFFF_FFFFL) {
            w.u8(DWORD_PREFIX).u32(v);
        } else {
            w.u8(QWORD_PREFIX).u64(v);
        }
        return w.toByteArray();
    }

    /** A null-terminated ASCII string constant. */
    public static byte[] string(String s) {
        for (char c : s.toCharArray()) {
            if (c == 0 || c > 0x7F) {
                throw new IllegalArgumentException("AML strings are ASCII without NUL: " + s);
            }
        }
        return new ByteWriter().u8(STRING_PREFIX).bytes(s.getBytes(StandardCharsets.US_ASCII)).u8(0).toByteArray();
    }

    /** Buffer(n) {bytes}: BufferOp PkgLength BufferSize ByteList. */
    public static byte[] buffer(byte[] bytes) {
        byte[] size = integer(bytes.length);
        return pkg(new byte[] {BUFFER_OP}, concat(size, bytes));
    }

    /** Package(n) {elements}: PackageOp PkgLength NumElements PackageElementList, at most 255 elements. */
    public static byte[] packageOf(byte[]... elements) {
        if (elements.length > 0xFF) {
            throw new IllegalArgumentException("AML Package of " + elements.length + " elements; at most 255 (use VarPackage)");
        }
        return pkg(new byte[] {PACKAGE_OP}, concat(new byte[] {(byte) elements.length}, concat(elements)));
    }

    /** Name(path, value). */
    public static byte[] nameOf(String path, byte[] value) {
        return new ByteWriter().u8(NAME_OP).bytes(name(path)).bytes(value).toByteArray();
    }

    /** Scope(path) {terms}. */
    public static byte[] scope(String path, byte[]... terms) {
        return pkg(new byte[] {SCOPE_OP}, concat(name(path), concat(terms)));
    }

    /** Device(path) {terms}. */
    public static byte[] device(String path, byte[]... terms) {
        return pkg(new byte[] {EXT_OP_PREFIX, (byte) DEVICE_OP}, concat(name(path), concat(terms)));
    }

    /**
     * EisaId("PNP0501"): three upper-case letters packed 5 bits each and four hex digits, stored
     * as a DWord in the byte order the spec gives (§19.6.35), e.g. PNP0501 → 0x0105D041.
     */
    public static long eisaId(String id) {
        if (!id.matches("[A-Z]{3}[0-9A-F]{4}")) {
            throw new IllegalArgumentException("invalid EISA ID '" + id + "': three letters A-Z and four hex digits");
        }
        int vendor = ((id.charAt(0) - 0x40) << 10) | ((id.charAt(1) - 0x40) << 5) | (id.charAt(2) - 0x40);
        int product = Integer.parseInt(id.substring(3), 16);
        // big-endian vendor (2 bytes) then product (2 bytes), read as a little-endian DWord
        return ((vendor >>> 8) & 0xFF) | ((vendor & 0xFF) << 8)
                | (((product >>> 8) & 0xFF) << 16) | ((long) (product & 0xFF) << 24);
    }

    private static byte[] pkg(byte[] op, byte[] content) {
        return concat(op, pkgLength(content.length), content);
    }

    static byte[] concat(byte[]... parts) {
        ByteWriter w = new ByteWriter();
        for (byte[] p : parts) {
            w.bytes(p);
        }
        return w.toByteArray();
    }
}
