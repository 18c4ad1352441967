package dev.hostd.vmm.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Debian's cloud kernel as scripts/fetch-guest-kernel leaves it: {@code <cache>/<package>/boot/vmlinuz-*}
 * under /var/cache/hostd/guest-kernel (or $HOSTD_GUEST_KERNEL_CACHE). scripts/setup fetches it, so
 * a machine without it is not set up: the tests that need it fail and say how to fix that.
 */
public final class GuestKernel {
    private GuestKernel() {}

    public static Path vmlinuz() {
        String env = System.getenv("HOSTD_GUEST_KERNEL_CACHE");
        Path cache = Path.of(env == null || env.isBlank() ? "/var/cache/hostd/guest-kernel" : env);
        String fix = "; run scripts/fetch-guest-kernel (scripts/setup does it) to fetch Debian's linux-image-cloud-amd64";
        if (!Files.isDirectory(cache)) {
            fail("no guest kernel cache at " + cache + fix);
        }
        try (Stream<Path> packages = Files.list(cache)) {
            return packages.filter(p -> !p.getFileName().toString().startsWith("."))
                    .flatMap(GuestKernel::vmlinuzIn)
                    .max(Comparator.naturalOrder())
                    .orElseGet(() -> fail("no boot/vmlinuz-* under " + cache + fix));
        } catch (IOException e) {
            return fail("cannot list " + cache + ": " + e + fix);
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
            return Stream.empty();
        }
    }
}
