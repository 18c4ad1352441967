package dev.hostd.bench.image;

import java.nio.file.Path;

/**
 * Drives the nydus-mount command line as separate processes, as hostd will. Filled in once the
 * nydus-mount module (branch nydus) has its CLI; until then the lazy rows are reported as pending.
 */
final class NydusCli implements LazyImages {
    static final String MAIN = "dev.hostd.image.cli.NydusMount";

    @Override
    public String unavailableReason() {
        try {
            Class.forName(MAIN);
            return null;
        } catch (ClassNotFoundException e) {
            return "nydus-mount CLI (" + MAIN + ") is not on the classpath of this build";
        }
    }

    @Override
    public Prepared prepare(Path ociLayout, Path out, String registryUrl, String repo) {
        throw new UnsupportedOperationException(unavailableReason());
    }

    @Override
    public Mount mount(Prepared prepared, String registryUrl, Path cacheDir, Path mountpoint, Trace trace) {
        throw new UnsupportedOperationException(unavailableReason());
    }
}
