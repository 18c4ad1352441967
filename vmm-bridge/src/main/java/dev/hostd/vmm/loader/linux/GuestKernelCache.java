package dev.hostd.vmm.loader.linux;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Where scripts/fetch-guest-kernel leaves Debian's cloud kernel: {@code <cache>/<package>/boot/vmlinuz-*},
 * the cache being /var/cache/hostd/guest-kernel or $HOSTD_GUEST_KERNEL_CACHE. Directories starting
 * with a dot are fetches in progress and never taken.
 */
public final class GuestKernelCache {
    public static final Path DEFAULT = Path.of("/var/cache/hostd/guest-kernel");
    /** What to tell an operator whose machine has no kernel. */
    public static final String HOW_TO_FETCH = "run scripts/fetch-guest-kernel (scripts/setup does it) to fetch Debian's linux-image-cloud-amd64";

    private GuestKernelCache() {}

    public static Path directory() {
        String env = System.getenv("HOSTD_GUEST_KERNEL_CACHE");
        return env == null || env.isBlank() ? DEFAULT : Path.of(env);
    }

    /** The newest vmlinuz in {@code cache}, if any. */
    public static Optional<Path> vmlinuz(Path cache) {
        if (!Files.isDirectory(cache)) {
            return Optional.empty();
        }
        try (Stream<Path> packages = Files.list(cache)) {
            return packages.filter(p -> !p.getFileName().toString().startsWith("."))
                    .flatMap(GuestKernelCache::vmlinuzIn)
                    .max(Comparator.naturalOrder());
        } catch (IOException e) {
            throw new UncheckedIOException("listing the guest kernel cache " + cache, e);
        }
    }

    private static Stream<Path> vmlinuzIn(Path pkg) {
        Path boot = pkg.resolve("boot");
        if (!Files.isDirectory(boot)) {
            return Stream.empty();
        }
        try (Stream<Path> files = Files.list(boot)) {
            return files.filter(f -> f.getFileName().toString().startsWith("vmlinuz-")).toList().stream();
        } catch (IOException e) {
            throw new UncheckedIOException("listing " + boot, e);
        }
    }
}
