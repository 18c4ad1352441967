package dev.hostd.vmm.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The Linux guest's initramfs as the guest module's build leaves it: guest/target/linux-guest/
 * initramfs.cpio (or $HOSTD_GUEST_INITRAMFS). The guest module is built before vmm-bridge (its
 * test dependency) and scripts/setup provides what the initramfs needs (the kernel, busybox-static),
 * so a missing file means the machine or the build is not set up: the test fails and says how.
 */
public final class GuestInitramfs {
    private GuestInitramfs() {}

    public static Path path() {
        String env = System.getenv("HOSTD_GUEST_INITRAMFS");
        // Surefire and failsafe run in the module's directory; guest is its sibling.
        Path file = env == null || env.isBlank()
                ? Path.of(System.getProperty("user.dir")).resolveSibling("guest").resolve("target/linux-guest/initramfs.cpio")
                : Path.of(env);
        if (!Files.isRegularFile(file)) {
            fail("no initramfs at " + file + "; build the guest module (./mvnw -pl guest package), which makes it"
                    + " when scripts/fetch-guest-kernel has fetched the kernel and busybox-static is installed (scripts/setup)");
        }
        return file;
    }
}
