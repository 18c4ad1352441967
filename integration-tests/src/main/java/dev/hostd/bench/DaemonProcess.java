package dev.hostd.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** hostd started as its own process, as systemd starts it, from this JVM's classpath. */
final class DaemonProcess implements AutoCloseable {
    private final Process process;
    final Path socket;
    final Path log;

    private DaemonProcess(Process process, Path socket, Path log) {
        this.process = process;
        this.socket = socket;
        this.log = log;
    }

    static DaemonProcess start(Path work, Path templatesRoot, String... extraOptions) throws IOException {
        Path socket = work.resolve("hostd.sock");
        Path log = work.resolve("hostd.log");
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-Xms1g", "-Xmx1g", "-XX:+AlwaysPreTouch",
                "-Dhostd.socket.path=" + socket, "-Dhostd.templates.root=" + templatesRoot,
                "-Dhostd.state-dir=" + work.resolve("state"), "-Dhostd.socket.group=root"));
        command.addAll(List.of(extraOptions));
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), "dev.hostd.daemon.HostdApplication"));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        return new DaemonProcess(p, socket, log);
    }

    long pid() {
        return process.pid();
    }

    boolean alive() {
        return process.isAlive();
    }

    /** Kilobytes of a /proc/<pid> field, e.g. ("status", "VmRSS:") or ("smaps_rollup", "Pss:"). */
    long procKib(String file, String field) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid()), file))) {
            if (line.startsWith(field)) {
                return Long.parseLong(line.substring(field.length()).trim().split("\\s+")[0]);
            }
        }
        throw new IllegalStateException(field + " not in /proc/" + pid() + "/" + file);
    }

    /** SIGTERM, then the exit status (143 after the JVM's shutdown hooks ran). */
    int stop() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(120, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor();
        }
        return process.exitValue();
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            stop();
        }
    }
}
