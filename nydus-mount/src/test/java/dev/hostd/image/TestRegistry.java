package dev.hostd.image;

import dev.hostd.image.format.Digest;
import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

/**
 * Debian's docker-registry, run by the test inside a network namespace it creates, reached over a
 * veth pair with addresses from 198.18.0.0/15. close() stops it and removes namespace, veth and storage.
 */
final class TestRegistry implements AutoCloseable {
    final String ns;
    final String hostIf;
    final String hostIp;
    final String nsIp;
    final Path root;
    private final Path config;
    private Process process;

    static void assumeAvailable() {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/docker-registry")),
                "docker-registry not installed (scripts/setup installs it)");
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "network namespaces need root");
    }

    TestRegistry(Path dir) throws IOException, InterruptedException {
        int id = ThreadLocalRandom.current().nextInt(1 << 20);
        ns = "hdimg" + id;
        hostIf = "hdi" + id + "h";
        String nsIf = "hdi" + id + "n";
        // A /30 in 198.19.128.0/17: 198.19.(128 + id/64 % 128).(4 * (id % 64))
        int third = 128 + (id / 64) % 128;
        int base = 4 * (id % 64);
        hostIp = "198.19." + third + "." + (base + 1);
        nsIp = "198.19." + third + "." + (base + 2);
        root = Files.createDirectories(dir.resolve("registry-" + id));
        config = root.resolve("config.yml");
        Files.writeString(config, """
                version: 0.1
                log:
                  level: error
                storage:
                  filesystem:
                    rootdirectory: %s
                  delete:
                    enabled: true
                http:
                  addr: %s:5000
                """.formatted(root.resolve("data"), nsIp));
        try {
            run("ip", "netns", "add", ns);
            run("ip", "link", "add", hostIf, "type", "veth", "peer", "name", nsIf);
            run("ip", "link", "set", nsIf, "netns", ns);
            run("ip", "addr", "add", hostIp + "/30", "dev", hostIf);
            run("ip", "link", "set", hostIf, "up");
            run("ip", "netns", "exec", ns, "ip", "addr", "add", nsIp + "/30", "dev", nsIf);
            run("ip", "netns", "exec", ns, "ip", "link", "set", nsIf, "up");
            run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up");
            start();
        } catch (IOException | InterruptedException | RuntimeException e) {
            close();
            throw e;
        }
    }

    URI uri() {
        return URI.create("http://" + nsIp + ":5000");
    }

    void start() throws IOException, InterruptedException {
        process = new ProcessBuilder("ip", "netns", "exec", ns, "docker-registry", "serve", config.toString())
                .redirectErrorStream(true).redirectOutput(root.resolve("registry.log").toFile()).start();
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
        long end = System.nanoTime() + 60_000_000_000L; // a hang guard: a loaded host can take seconds to start it
        while (System.nanoTime() - end < 0) {
            try {
                HttpResponse<Void> r = http.send(HttpRequest.newBuilder(URI.create(uri() + "/v2/")).build(),
                        HttpResponse.BodyHandlers.discarding());
                if (r.statusCode() == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // starting
            }
            if (!process.isAlive()) {
                throw new IOException("docker-registry exited: " + Files.readString(root.resolve("registry.log")));
            }
            Thread.sleep(50);
        }
        throw new IOException("docker-registry did not answer within 60 s");
    }

    void stop() throws InterruptedException {
        if (process != null) {
            process.destroy();
            process.waitFor();
            process = null;
        }
    }

    /** Where the registry's filesystem driver keeps a blob's bytes. */
    Path blobData(Digest d) {
        return root.resolve("data/docker/registry/v2/blobs/sha256").resolve(d.hex().substring(0, 2)).resolve(d.hex())
                .resolve("data");
    }

    @Override
    public void close() throws IOException, InterruptedException {
        try {
            stop();
        } finally {
            new ProcessBuilder("ip", "netns", "del", ns).start().waitFor();
            new ProcessBuilder("ip", "link", "del", hostIf).start().waitFor(); // gone with the namespace, normally
            try (Stream<Path> s = Files.walk(root)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    private static void run(String... cmd) throws IOException, InterruptedException {
        TreeCompare.run(cmd);
    }
}
