package dev.hostd.daemon;

import jakarta.inject.Singleton;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * sd_notify(3) without libsystemd: one datagram to {@code $NOTIFY_SOCKET} per state change
 * (READY=1, STOPPING=1, STATUS=...). Without that variable (not run by systemd) it does nothing.
 */
@Singleton
public final class SystemdNotifier {
    private static final Logger LOG = LoggerFactory.getLogger(SystemdNotifier.class);
    private final String socket;

    public SystemdNotifier() {
        this(System.getenv("NOTIFY_SOCKET"));
    }

    SystemdNotifier(String socket) {
        this.socket = socket == null || socket.isBlank() ? null : socket;
    }

    public boolean enabled() {
        return socket != null;
    }

    /** Sends {@code state} (newline-separated assignments); failures are logged, never thrown. */
    public void notify(String state) {
        if (socket == null) {
            return;
        }
        try {
            UnixDatagram.send(socket, state.getBytes(StandardCharsets.UTF_8));
        } catch (IOException | RuntimeException e) {
            LOG.warn("could not notify systemd at {} of '{}': {}", socket, state.replace('\n', ' '), e.getMessage());
        }
    }

    public void ready(String status) {
        notify("READY=1\nSTATUS=" + status + "\nMAINPID=" + ProcessHandle.current().pid());
    }

    public void stopping(String status) {
        notify("STOPPING=1\nSTATUS=" + status);
    }
}
