package dev.hostd.daemon;

import dev.hostd.guest.TestGuestImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * The files a template request names: the built-in test guest or an ELF file, a Linux kernel or
 * initramfs, each a file under {@code hostd.templates.image-dir}. hostd runs as root, so the API
 * must not read any other file.
 */
final class GuestImages {
    static final String TEST_GUEST = "test-guest";
    private static final long MAX_IMAGE_BYTES = 256L << 20;

    private GuestImages() {}

    static byte[] read(String image, Path imageDir) {
        if (image == null || image.isEmpty()) {
            throw new ApiException(ProblemCode.INVALID_INPUT, "image must be \"" + TEST_GUEST + "\" or an absolute path to a guest ELF");
        }
        if (image.equals(TEST_GUEST)) {
            return TestGuestImage.bytes();
        }
        Path p = Path.of(image);
        if (!p.isAbsolute() || !p.normalize().equals(p)) {
            throw new ApiException(ProblemCode.INVALID_INPUT, "image '" + image + "' must be \"" + TEST_GUEST + "\" or an absolute, normalized path");
        }
        Path file = fileUnder("image", p, imageDir);
        try {
            long size = Files.size(file);
            if (size == 0 || size > MAX_IMAGE_BYTES) {
                throw new ApiException(ProblemCode.INVALID_INPUT, "image " + image + " is " + size + " bytes; expected 1.." + MAX_IMAGE_BYTES);
            }
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new ApiException(ProblemCode.INVALID_INPUT, "cannot read image " + image + ": " + e.getMessage());
        }
    }

    /**
     * The regular file that request member {@code field} names: an absolute, normalized path or a
     * name relative to the image directory, which the file (links resolved) must be under.
     */
    static Path fileUnder(String field, String value, Path imageDir) {
        if (value == null || value.isEmpty()) {
            throw new ApiException(ProblemCode.INVALID_INPUT, field + " must name a file under " + imageDir + " (" + HostdConfig.IMAGE_DIR_KEY + ")");
        }
        Path p;
        try {
            p = Path.of(value);
        } catch (java.nio.file.InvalidPathException e) {
            throw new ApiException(ProblemCode.INVALID_INPUT, field + " '" + value + "' is not a path: " + e.getMessage());
        }
        if (p.getNameCount() == 0) {
            throw new ApiException(ProblemCode.INVALID_INPUT, field + " '" + value + "' must name a file under " + imageDir);
        }
        if (!p.normalize().equals(p) || p.getName(0).toString().equals("..")) {
            throw new ApiException(ProblemCode.INVALID_INPUT, field + " '" + value + "' must be a normalized path (no . or .. parts)");
        }
        return fileUnder(field, p.isAbsolute() ? p : imageDir.resolve(p), imageDir);
    }

    private static Path fileUnder(String field, Path p, Path imageDir) {
        try {
            Path dir = imageDir.toRealPath();
            Path real = Files.exists(p) ? p.toRealPath() : null;
            if (real == null || !real.startsWith(dir)) {
                throw new ApiException(ProblemCode.INVALID_INPUT, field + " " + p + " is not a file under " + dir
                        + " (" + HostdConfig.IMAGE_DIR_KEY + "): copy it there");
            }
            if (!Files.isRegularFile(real, LinkOption.NOFOLLOW_LINKS)) {
                throw new ApiException(ProblemCode.INVALID_INPUT, field + " " + p + " is not a regular file");
            }
            if (!Files.isReadable(real)) {
                throw new ApiException(ProblemCode.INVALID_INPUT, field + " " + p + " is not readable");
            }
            return real; // the resolved name: what was checked, not a link that could be re-pointed
        } catch (IOException e) {
            throw new ApiException(ProblemCode.INVALID_INPUT, "cannot read " + field + " " + p + ": " + e.getMessage());
        }
    }
}
