package dev.hostd.net;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * iproute2 as a process, for the slow path only: tenant setup and teardown (namespace, bridge,
 * VXLAN), which happen once per tenant, never per sandbox.
 */
final class IpRoute {
    private IpRoute() {}

    /** Runs {@code ip [-n namespace] args...}; throws with ip's own message on failure. */
    static String ip(String namespace, String... args) {
        List<String> command = new ArrayList<>();
        command.add("ip");
        if (namespace != null) {
            command.add("-n");
            command.add(namespace);
        }
        command.addAll(List.of(args));
        return run(command);
    }

    /** Whether {@code ip [-n namespace] link show dev name} finds the link. */
    static boolean linkExists(String namespace, String name) {
        try {
            ip(namespace, "link", "show", "dev", name);
            return true;
        } catch (NetException e) {
            return false;
        }
    }

    static String run(List<String> command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new NetException(command.get(0), String.join(" ", command) + " did not finish in 30 s");
            }
            if (p.exitValue() != 0) {
                throw new NetException(command.get(0), String.join(" ", command) + " failed (exit " + p.exitValue() + "): " + out.strip());
            }
            return out;
        } catch (IOException e) {
            throw new NetException(command.get(0), "could not run " + String.join(" ", command) + ": " + e.getMessage()
                    + " (install iproute2: scripts/setup)", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new NetException(command.get(0), "interrupted while running " + String.join(" ", command), e);
        }
    }
}
