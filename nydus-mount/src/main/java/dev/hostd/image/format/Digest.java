package dev.hostd.image.format;

import dev.hostd.image.ImageException;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;

/** A SHA-256 digest: the address of a chunk (of its uncompressed data), a blob or a bootstrap. */
public final class Digest implements Comparable<Digest> {
    public static final int LENGTH = 32;
    private static final HexFormat HEX = HexFormat.of();
    private final byte[] bytes;
    private final int hash;

    private Digest(byte[] bytes) {
        this.bytes = bytes;
        this.hash = Arrays.hashCode(bytes);
    }

    public static Digest of(byte[] raw) {
        if (raw.length != LENGTH) {
            throw ImageException.corrupt("parse digest", "a SHA-256 digest has 32 bytes, not " + raw.length);
        }
        return new Digest(raw.clone());
    }

    public static Digest sha256(byte[] data, int off, int len) {
        MessageDigest md = newSha256();
        md.update(data, off, len);
        return new Digest(md.digest());
    }

    public static Digest sha256(byte[] data) {
        return sha256(data, 0, data.length);
    }

    /** Parses "sha256:<64 hex>" (or the bare hex). */
    public static Digest parse(String text) {
        String hex = text.startsWith("sha256:") ? text.substring(7) : text;
        if (hex.length() != 64 || !hex.chars().allMatch(c -> (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            throw ImageException.corrupt("parse digest", "not a sha256 digest: '" + text + "'");
        }
        return new Digest(HEX.parseHex(hex));
    }

    public static MessageDigest newSha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public byte[] bytes() {
        return bytes.clone();
    }

    public String hex() {
        return HEX.formatHex(bytes);
    }

    /** The OCI form, "sha256:<hex>". */
    @Override
    public String toString() {
        return "sha256:" + hex();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Digest d && Arrays.equals(bytes, d.bytes);
    }

    @Override
    public int hashCode() {
        return hash;
    }

    @Override
    public int compareTo(Digest o) {
        return Arrays.compareUnsigned(bytes, o.bytes);
    }
}
