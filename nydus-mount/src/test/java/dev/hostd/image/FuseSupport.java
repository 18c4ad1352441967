package dev.hostd.image;

import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;

final class FuseSupport {
    private FuseSupport() {
    }

    static void assumeFuse() {
        Assumptions.assumeTrue(Files.exists(Path.of("/dev/fuse")), "no /dev/fuse on this host");
        Assumptions.assumeTrue(Files.exists(Path.of("/usr/lib/x86_64-linux-gnu/libfuse.so.2"))
                || Files.exists(Path.of("/lib/x86_64-linux-gnu/libfuse.so.2")), "libfuse2 not installed (scripts/setup installs it)");
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "FUSE mounts with allow_other need root");
    }
}
