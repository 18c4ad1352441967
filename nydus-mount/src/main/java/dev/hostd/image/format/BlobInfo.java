package dev.hostd.image.format;

/** A blob: a file of concatenated stored chunks, addressed by the SHA-256 of its bytes. */
public record BlobInfo(Digest digest, long size) {
}
