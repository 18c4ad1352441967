package dev.hostd.vmm.testing;

import static org.junit.jupiter.api.Assertions.fail;

import dev.hostd.vmm.loader.linux.GuestKernelCache;
import java.nio.file.Path;

/**
 * Debian's cloud kernel from {@link GuestKernelCache}. scripts/setup fetches it, so a machine
 * without it is not set up: the tests that need it fail and say how to fix that.
 */
public final class GuestKernel {
    private GuestKernel() {}

    public static Path vmlinuz() {
        Path cache = GuestKernelCache.directory();
        return GuestKernelCache.vmlinuz(cache)
                .orElseGet(() -> fail("no boot/vmlinuz-* under " + cache + "; " + GuestKernelCache.HOW_TO_FETCH));
    }
}
