package dev.hostd.bench.image;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Runs an image's {@code /app/ready} as a container runtime would start it: a writable overlay (on
 * a tmpfs) over the read-only image root, /proc, /dev, a tmpfs /tmp and /dev/shm, then chroot. All
 * of it happens in a private mount namespace ({@code unshare -m}), so every mount goes away with the
 * process, whatever happens. The same for the unpacked directory and for the FUSE mount.
 */
final class ChrootRun {
    private static final String SCRIPT = """
            set -eu
            root=$1 run=$2
            mount -t tmpfs -o mode=0755 tmpfs "$run"
            mkdir "$run/upper" "$run/work" "$run/merged"
            mount -t overlay overlay -o "lowerdir=$root,upperdir=$run/upper,workdir=$run/work" "$run/merged"
            m=$run/merged
            mount -t proc proc "$m/proc"
            mount --rbind /dev "$m/dev"
            mount -t tmpfs tmpfs "$m/dev/shm"
            mount -t tmpfs tmpfs "$m/tmp"
            exec chroot "$m" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8 /app/ready
            """;

    private ChrootRun() {}

    /** Runs /app/ready in root; returns its output, or throws with it if the app did not get ready. */
    static String ready(Path root, Path runDir) throws IOException {
        java.nio.file.Files.createDirectories(runDir);
        return Cmd.run(List.of("unshare", "--mount", "--propagation", "private", "--", "sh", "-c", SCRIPT, "chroot-run",
                root.toString(), runDir.toString())).strip();
    }
}
