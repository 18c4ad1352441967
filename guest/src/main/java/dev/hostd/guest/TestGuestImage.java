package dev.hostd.guest;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/** The test guest's ELF image, built by this module's make step and shipped as a resource. */
public final class TestGuestImage {
    /** Resource name of the ELF, relative to this class. */
    public static final String RESOURCE = "hostd-test-guest.elf";

    private TestGuestImage() {}

    /** The ELF bytes. Fails loudly if the build did not produce the guest. */
    public static byte[] bytes() {
        try (InputStream in = TestGuestImage.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("test guest ELF missing from the classpath: build the guest module (./mvnw -pl guest package)");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("reading the test guest ELF", e);
        }
    }
}
