package dev.hostd.image;

import java.net.URI;
import java.nio.file.Path;

/** Where an image comes from. */
public sealed interface ImageSource {
    /**
     * A converted image on this host: {@code imageDir/bootstrap}, blobs in {@code blobDir}
     * ({@code imageDir/blobs} when null). The trace is kept in {@code imageDir}.
     */
    record Local(Path imageDir, Path blobDir) implements ImageSource {
    }

    /**
     * An image pushed with {@link ImageRegistry#push}: its manifest by tag or digest; the bootstrap
     * is fetched once into {@code workDir/<bootstrap hex>/}, where its trace is kept too.
     */
    record Registry(URI registry, String repository, String reference, Path workDir) implements ImageSource {
    }
}
