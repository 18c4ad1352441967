package dev.hostd.vmm.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A network namespace a test creates with iproute2 and deletes in {@link #close()} (which also
 * removes every interface still in it). Test traffic stays inside it; addresses are from
 * 198.18.0.0/15. Shared with other modules' tests through vmm-bridge's test jar.
 */
public final class TestNetns implements AutoCloseable {
    private static final AtomicInteger COUNTER = new AtomicInteger();
    public final String name;
    public final Path path;

    private TestNetns(String name) {
        this.name = name;
        this.path = Path.of("/run/netns", name);
    }

    /** Why namespaces cannot be made here, or null if they can. */
    public static String unavailableBecause() {
        if (!"root".equals(System.getProperty("user.name"))) {
            return "network namespaces need root";
        }
        if (!Files.exists(Path.of("/dev/net/tun"))) {
            return "no /dev/net/tun";
        }
        try {
            run(List.of("ip", "-V"));
        } catch (RuntimeException e) {
            return "iproute2 (ip) is not installed: " + e.getMessage();
        }
        return null;
    }

    public static TestNetns create(String prefix) {
        TestNetns ns = new TestNetns(prefix + "-" + ProcessHandle.current().pid() + "-" + COUNTER.incrementAndGet());
        run(List.of("ip", "netns", "add", ns.name));
        return ns;
    }

    /** Runs {@code command} inside the namespace; returns its output, throws with its stderr if it fails. */
    public String exec(String... command) {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", name));
        full.addAll(List.of(command));
        return run(full);
    }

    public static String run(List<String> command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException(String.join(" ", command) + " did not finish in 30 s");
            }
            if (p.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", command) + " failed (" + p.exitValue() + "): " + out.strip());
            }
            return out;
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + command.getFirst() + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted running " + command, e);
        }
    }

    @Override
    public void close() {
        run(List.of("ip", "netns", "del", name));
    }
}
