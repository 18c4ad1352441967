package dev.hostd.daemon;

import io.micronaut.runtime.Micronaut;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.bridge.SLF4JBridgeHandler;

/**
 * hostd's entry point: {@code java --enable-native-access=ALL-UNNAMED -cp ... dev.hostd.daemon.HostdApplication}.
 * Reads {@code /etc/hostd/hostd.yml} when present (another file with {@code -Dhostd.config=...} or
 * {@code HOSTD_CONFIG}); {@code -Dhostd.*} and {@code HOSTD_*} override single settings.
 */
public final class HostdApplication {
    public static final String DEFAULT_CONFIG = "/etc/hostd/hostd.yml";

    private HostdApplication() {}

    public static void main(String[] args) {
        // the engine modules log through System.Logger, i.e. java.util.logging: one log, one format
        SLF4JBridgeHandler.removeHandlersForRootLogger();
        SLF4JBridgeHandler.install();
        String file = System.getProperty("hostd.config", System.getenv().getOrDefault("HOSTD_CONFIG", DEFAULT_CONFIG));
        if (System.getProperty("micronaut.config.files") == null && System.getenv("MICRONAUT_CONFIG_FILES") == null
                && Files.isReadable(Path.of(file))) {
            System.setProperty("micronaut.config.files", file);
        }
        Micronaut.build(args).mainClass(HostdApplication.class).banner(false).start();
    }
}
