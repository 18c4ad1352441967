package dev.hostd.net.testbed;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.hostd.net.internal.LibNftables;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** What the namespace tests need from the machine; each missing piece skips them with its reason. */
public final class HostSupport {
    private HostSupport() {}

    public static void assumeNetworkAdmin() {
        assumeTrue(isRoot(), "needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN) to make namespaces, TAPs and nftables rules");
        assumeTrue(Files.exists(Path.of("/dev/net/tun")), "needs /dev/net/tun (tun module)");
        assumeTrue(Files.isExecutable(Path.of("/usr/sbin/ip")) || Files.isExecutable(Path.of("/sbin/ip")) || Files.isExecutable(Path.of("/usr/bin/ip")),
                "needs iproute2's ip (scripts/setup installs it)");
        assumeTrue(LibNftables.available(), "needs libnftables.so.1 (Debian libnftables1; scripts/setup installs it)");
    }

    static boolean isRoot() {
        try {
            return Files.readAllLines(Path.of("/proc/self/status")).stream().anyMatch(l -> l.matches("Uid:\\s+0\\s.*"));
        } catch (IOException e) {
            return false;
        }
    }
}
