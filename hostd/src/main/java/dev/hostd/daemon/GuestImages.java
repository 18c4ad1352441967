package dev.hostd.daemon;

import dev.hostd.guest.TestGuestImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * The guest image a template request names: the built-in test guest, or an ELF file under
 * {@code hostd.templates.image-dir}. hostd runs as root, so the API must not read any other file.
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
        try {
            Path dir = imageDir.toRealPath();
            if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS) || !p.toRealPath().startsWith(dir)) {
                throw new ApiException(ProblemCode.INVALID_INPUT, "image " + image + " is not a file under " + dir
                        + " (" + HostdConfig.IMAGE_DIR_KEY + "): copy guest images there");
            }
            if (!Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                throw new ApiException(ProblemCode.INVALID_INPUT, "image " + image + " is not a regular file");
            }
            long size = Files.size(p);
            if (size == 0 || size > MAX_IMAGE_BYTES) {
                throw new ApiException(ProblemCode.INVALID_INPUT, "image " + image + " is " + size + " bytes; expected 1.." + MAX_IMAGE_BYTES);
            }
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new ApiException(ProblemCode.INVALID_INPUT, "cannot read image " + image + ": " + e.getMessage());
        }
    }
}
