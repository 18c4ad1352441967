package dev.hostd.daemon;

import io.micronaut.context.annotation.Value;
import jakarta.inject.Singleton;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The daemon's settings ({@code hostd.*}). Defaults live in {@code application.yml}, operators
 * override them in {@code /etc/hostd/hostd.yml}, with {@code HOSTD_*} environment variables or
 * {@code -Dhostd.*} system properties. Values are checked here, so a bad setting stops the start
 * with a message naming the key.
 */
@Singleton
public final class HostdConfig {
    /** The agent's frame limit (1 MiB) less a byte and the longest function name. */
    public static final int MAX_PAYLOAD_CEILING = (1 << 20) - 256;
    public static final String MAX_SANDBOXES_KEY = "hostd.limits.max-sandboxes";
    public static final String IMAGE_DIR_KEY = "hostd.templates.image-dir";
    public static final String MAX_PAYLOAD_KEY = "hostd.limits.max-payload-bytes";

    private final Path socketPath;
    private final String socketMode;
    private final String socketGroup;
    private final Path stateDir;
    private final Path templatesRoot;
    private final int vmsMadeAhead;
    private final Path imageDir;
    private final Path kvmDevice;
    private final Duration readyTimeout;
    private final Duration invokeTimeout;
    private final int consoleLogBytes;
    private final int warmupClones;
    private final Duration shutdownGrace;
    private final int maxSandboxes;
    private final int maxPayloadBytes;

    public HostdConfig(@Value("${hostd.socket.path}") String socketPath,
                       @Value("${hostd.socket.mode}") String socketMode,
                       @Value("${hostd.socket.group}") String socketGroup,
                       @Value("${hostd.state-dir}") String stateDir,
                       @Value("${hostd.templates.root}") String templatesRoot,
                       @Value("${hostd.templates.vms-made-ahead}") int vmsMadeAhead,
                       @Value("${hostd.templates.image-dir}") String imageDir,
                       @Value("${hostd.kvm-device}") String kvmDevice,
                       @Value("${hostd.ready-timeout}") Duration readyTimeout,
                       @Value("${hostd.invoke-timeout}") Duration invokeTimeout,
                       @Value("${hostd.console-log-bytes}") int consoleLogBytes,
                       @Value("${hostd.warmup-clones}") int warmupClones,
                       @Value("${hostd.shutdown-grace}") Duration shutdownGrace,
                       @Value("${" + MAX_SANDBOXES_KEY + "}") int maxSandboxes,
                       @Value("${" + MAX_PAYLOAD_KEY + "}") int maxPayloadBytes) {
        this.socketPath = absolute("hostd.socket.path", socketPath);
        if (this.socketPath.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 107) {
            throw bad("hostd.socket.path", socketPath, "a Unix socket path is at most 107 bytes");
        }
        if (!socketMode.matches("0?[0-7]{3}")) {
            throw bad("hostd.socket.mode", socketMode, "expected octal permissions such as 0660");
        }
        this.socketMode = socketMode;
        this.socketGroup = socketGroup;
        this.stateDir = absolute("hostd.state-dir", stateDir);
        this.templatesRoot = absolute("hostd.templates.root", templatesRoot);
        if (vmsMadeAhead < 0 || vmsMadeAhead > 64) {
            throw bad("hostd.templates.vms-made-ahead", String.valueOf(vmsMadeAhead), "expected 0..64");
        }
        this.vmsMadeAhead = vmsMadeAhead;
        this.imageDir = absolute(IMAGE_DIR_KEY, imageDir);
        this.kvmDevice = absolute("hostd.kvm-device", kvmDevice);
        this.readyTimeout = positive("hostd.ready-timeout", readyTimeout);
        this.invokeTimeout = positive("hostd.invoke-timeout", invokeTimeout);
        this.shutdownGrace = shutdownGrace.isNegative() ? Duration.ZERO : shutdownGrace;
        if (consoleLogBytes < 1024 || consoleLogBytes > (16 << 20)) {
            throw bad("hostd.console-log-bytes", String.valueOf(consoleLogBytes), "expected 1024..16777216");
        }
        this.consoleLogBytes = consoleLogBytes;
        if (warmupClones < 0 || warmupClones > 64) {
            throw bad("hostd.warmup-clones", String.valueOf(warmupClones), "expected 0..64");
        }
        this.warmupClones = warmupClones;
        if (maxSandboxes < 1) {
            throw bad(MAX_SANDBOXES_KEY, String.valueOf(maxSandboxes), "expected at least 1");
        }
        this.maxSandboxes = maxSandboxes;
        if (maxPayloadBytes < 1 || maxPayloadBytes > MAX_PAYLOAD_CEILING) {
            throw bad(MAX_PAYLOAD_KEY, String.valueOf(maxPayloadBytes), "expected 1.." + MAX_PAYLOAD_CEILING + " (the guest agent's frame limit)");
        }
        this.maxPayloadBytes = maxPayloadBytes;
    }

    private static Path absolute(String key, String value) {
        Path p = Path.of(value);
        if (!p.isAbsolute()) {
            throw bad(key, value, "expected an absolute path");
        }
        return p.normalize();
    }

    private static Duration positive(String key, Duration d) {
        if (d.isZero() || d.isNegative()) {
            throw bad(key, d.toString(), "expected a positive duration such as 10s");
        }
        return d;
    }

    private static IllegalArgumentException bad(String key, String value, String why) {
        return new IllegalArgumentException("invalid setting " + key + "=" + value + ": " + why);
    }

    public Path socketPath() { return socketPath; }
    public String socketMode() { return socketMode; }
    public String socketGroup() { return socketGroup; }
    public Path stateDir() { return stateDir; }
    public Path templatesRoot() { return templatesRoot; }

    /** The only directory guest images may be read from (the daemon runs as root; the API must not read any file). */
    public Path imageDir() { return imageDir; }

    /** VMs each template keeps made ahead of time (see TemplateStore.open). */
    public int vmsMadeAhead() { return vmsMadeAhead; }
    public Path kvmDevice() { return kvmDevice; }
    public Duration readyTimeout() { return readyTimeout; }
    public Duration invokeTimeout() { return invokeTimeout; }
    public int consoleLogBytes() { return consoleLogBytes; }
    public int warmupClones() { return warmupClones; }
    public Duration shutdownGrace() { return shutdownGrace; }
    public int maxSandboxes() { return maxSandboxes; }
    public int maxPayloadBytes() { return maxPayloadBytes; }

    /** The HTTP body limit: an invoke request with a maximal argument in base64, plus room for the JSON around it. */
    public long maxRequestBytes() {
        return 4L * ((maxPayloadBytes + 2) / 3) + 64 * 1024;
    }
}
