package dev.hostd.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The socket at start: a stale file left by a crash is replaced; a socket another hostd serves stops the start. */
class SocketStartupIT {
    private static ApplicationContext start(TestDirs dirs, Path socket) {
        return ApplicationContext.run(EmbeddedServer.class, Map.of(
                "hostd.socket.path", socket.toString(), "hostd.state-dir", dirs.state.toString(),
                "hostd.templates.root", dirs.templatesRoot.toString(), "hostd.warmup-clones", 0)).getApplicationContext();
    }

    @Test
    void staleSocketIsReplacedLiveSocketStopsTheStart() throws Exception {
        try (TestDirs dirs = new TestDirs("sock")) {
            Files.createDirectories(dirs.socket.getParent());
            try (ServerSocketChannel crashed = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
                crashed.bind(UnixDomainSocketAddress.of(dirs.socket)); // closed below without unlinking: a crash's leftover
            }
            assertTrue(Files.exists(dirs.socket));
            ApplicationContext first = start(dirs, dirs.socket);
            try (UdsHttpClient client = new UdsHttpClient(dirs.socket)) {
                assertEquals(200, client.get("/v1/ready").status());
                Exception e = assertThrows(Exception.class, () -> start(dirs, dirs.socket).close());
                String messages = e.toString() + (e.getCause() != null ? e.getCause().toString() : "");
                for (Throwable t = e; t != null; t = t.getCause()) {
                    messages += " " + t.getMessage();
                }
                assertTrue(messages.contains("another process serves"), messages);
                assertEquals(200, client.get("/v1/health").status(), "the running daemon keeps serving");
            } finally {
                first.close();
            }
        }
    }
}
