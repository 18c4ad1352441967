package dev.hostd.bench.image;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Debian's {@code docker-registry} (distribution 2.x) serving from a scratch directory, run inside
 * the benchmark's network namespace on {@link ShapedLink#INSIDE_ADDRESS}:5000. Closing stops it and
 * deletes its storage.
 */
final class LocalRegistry implements AutoCloseable {
    static final int PORT = 5000;

    private final Process process;
    private final Path dir;

    private LocalRegistry(Process process, Path dir) {
        this.process = process;
        this.dir = dir;
    }

    static LocalRegistry start(ShapedLink link, Path dir) throws IOException, InterruptedException {
        if (!Files.isExecutable(Path.of("/usr/bin/docker-registry"))) {
            throw new IOException("/usr/bin/docker-registry missing: apt-get install docker-registry (scripts/bench-image installs it)");
        }
        Files.createDirectories(dir.resolve("storage"));
        Path config = dir.resolve("config.yml");
        Files.writeString(config, """
                version: 0.1
                log:
                  level: warn
                storage:
                  filesystem:
                    rootdirectory: %s
                  delete:
                    enabled: true
                http:
                  addr: %s:%d
                """.formatted(dir.resolve("storage"), ShapedLink.INSIDE_ADDRESS, PORT));
        Process p = new ProcessBuilder("ip", "netns", "exec", link.namespace, "/usr/bin/docker-registry", "serve", config.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("registry.log").toFile()).start();
        LocalRegistry registry = new LocalRegistry(p, dir);
        try {
            registry.awaitUp();
            return registry;
        } catch (IOException | InterruptedException e) {
            registry.close();
            throw e;
        }
    }

    /** The registry's address on the veth, not through the delaying proxy. */
    static String directUrl() {
        return "http://" + ShapedLink.INSIDE_ADDRESS + ":" + PORT;
    }

    private void awaitUp() throws IOException, InterruptedException {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        IOException last = null;
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IOException("docker-registry exited " + process.exitValue() + ": " + Cmd.tail(Files.readString(dir.resolve("registry.log"))));
            }
            try {
                HttpResponse<Void> r = http.send(HttpRequest.newBuilder(URI.create(directUrl() + "/v2/")).build(), HttpResponse.BodyHandlers.discarding());
                if (r.statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                last = e;
            }
            Thread.sleep(100);
        }
        throw new IOException("docker-registry did not answer /v2/ within 20 s", last);
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Cmd.quietly("rm", "-rf", "--one-file-system", dir.toString());
    }
}
