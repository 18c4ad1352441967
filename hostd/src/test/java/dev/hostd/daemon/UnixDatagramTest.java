package dev.hostd.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** sd_notify's transport against a real datagram socket: a path, the abstract namespace, and no listener. */
class UnixDatagramTest {
    @TempDir
    Path dir;

    @Test
    void notifierSendsReadyAndStoppingToAPathSocket() throws IOException {
        Path path = dir.resolve("notify.sock");
        try (UnixDatagram.Receiver r = UnixDatagram.Receiver.bind(path.toString(), 2000)) {
            SystemdNotifier n = new SystemdNotifier(path.toString());
            assertTrue(n.enabled());
            n.ready("ok");
            String ready = r.receive();
            assertTrue(ready.startsWith("READY=1\nSTATUS=ok\nMAINPID=" + ProcessHandle.current().pid()), ready);
            n.stopping("bye");
            assertEquals("STOPPING=1\nSTATUS=bye", r.receive());
            assertNull(r.receive(), "nothing else was sent");
        }
        assertTrue(Files.notExists(path));
    }

    @Test
    void abstractNamespaceAsSystemdWritesIt() throws IOException {
        String name = "@hostd-test-" + UUID.randomUUID();
        try (UnixDatagram.Receiver r = UnixDatagram.Receiver.bind(name, 2000)) {
            UnixDatagram.send(name, "WATCHDOG=1".getBytes(StandardCharsets.UTF_8));
            assertEquals("WATCHDOG=1", r.receive());
        }
    }

    @Test
    void sendingToNoListenerFailsAndTheNotifierOnlyLogs() {
        String missing = dir.resolve("nobody.sock").toString();
        IOException e = assertThrows(IOException.class, () -> UnixDatagram.send(missing, new byte[] {1}));
        assertTrue(e.getMessage().contains("sendto"), e.getMessage());
        new SystemdNotifier(missing).ready("ignored"); // must not throw
        new SystemdNotifier(null).ready("not under systemd"); // does nothing
        assertThrows(IOException.class, () -> UnixDatagram.send("x".repeat(200), new byte[] {1}));
    }
}
