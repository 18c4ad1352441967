package dev.hostd.daemon;

import io.micronaut.context.event.BeanCreatedEvent;
import io.micronaut.context.event.BeanCreatedEventListener;
import io.micronaut.context.event.StartupEvent;
import io.micronaut.http.server.netty.configuration.NettyHttpServerConfiguration;
import io.micronaut.runtime.event.annotation.EventListener;
import io.micronaut.runtime.server.event.ServerStartupEvent;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.UserPrincipalNotFoundException;
import java.util.EnumSet;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Start-up around the Unix socket: before the server binds, the socket's directory is created and
 * a stale socket file (left by a crash; no one answers on it) is removed, while a live one stops
 * the start. Right after the bind the socket gets its mode and group. Then the clone path is
 * warmed and hostd reports READY (to systemd too).
 */
@Singleton
public class Lifecycle {
    private static final Logger LOG = LoggerFactory.getLogger(Lifecycle.class);
    private final HostdConfig config;
    private final Engine engine;

    public Lifecycle(HostdConfig config, Engine engine) {
        this.config = config;
        this.engine = engine;
    }

    @EventListener
    void beforeBind(StartupEvent event) {
        Path socket = config.socketPath();
        try {
            Files.createDirectories(socket.getParent());
            if (Files.exists(socket)) {
                try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                    probe.connect(UnixDomainSocketAddress.of(socket));
                    throw new IllegalStateException("another process serves " + socket + " (hostd.socket.path): stop it first");
                } catch (IOException refused) {
                    LOG.info("removing stale socket {}", socket);
                    Files.delete(socket);
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot prepare hostd.socket.path=" + socket + ": " + e.getMessage(), e);
        }
    }

    @EventListener
    void afterBind(ServerStartupEvent event) {
        applyPermissions(config.socketPath(), config.socketMode(), config.socketGroup());
        engine.warmUpAndReady();
    }

    static void applyPermissions(Path socket, String mode, String group) {
        try {
            Files.setPosixFilePermissions(socket, permissions(Integer.parseInt(mode, 8)));
            if (group != null && !group.isBlank()) {
                try {
                    GroupPrincipal g = socket.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByGroupName(group);
                    Files.getFileAttributeView(socket, PosixFileAttributeView.class).setGroup(g);
                } catch (UserPrincipalNotFoundException e) {
                    LOG.info("group '{}' (hostd.socket.group) does not exist: {} keeps its group", group, socket);
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot set mode/group of " + socket + ": " + e.getMessage(), e);
        }
    }

    static Set<PosixFilePermission> permissions(int mode) {
        Set<PosixFilePermission> set = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] order = {PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_READ,
                PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
                PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_READ};
        for (int bit = 0; bit < 9; bit++) {
            if ((mode & (1 << bit)) != 0) {
                set.add(order[bit]);
            }
        }
        return set;
    }

    /** HTTP bodies are limited to what an invoke of hostd.limits.max-payload-bytes needs (base64 + JSON). */
    @Singleton
    static final class RequestSizeLimit implements BeanCreatedEventListener<NettyHttpServerConfiguration> {
        private final HostdConfig config;

        RequestSizeLimit(HostdConfig config) {
            this.config = config;
        }

        @Override
        public NettyHttpServerConfiguration onCreated(BeanCreatedEvent<NettyHttpServerConfiguration> event) {
            NettyHttpServerConfiguration c = event.getBean();
            c.setMaxRequestSize(config.maxRequestBytes());
            return c;
        }
    }
}
