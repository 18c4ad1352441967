package dev.hostd.bench.image;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** Runs a host command to completion; a non-zero exit becomes an exception naming the command and its output. */
final class Cmd {
    private Cmd() {}

    static String run(String... command) throws IOException {
        return run(List.of(command));
    }

    static String run(List<String> command) throws IOException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            int rc = p.waitFor();
            if (rc != 0) {
                throw new IOException(String.join(" ", command) + " exited " + rc + ": " + tail(out));
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted: " + String.join(" ", command), e);
        }
        return out;
    }

    /** Runs a clean-up command, reporting but not throwing a failure (so the next clean-up step still runs). */
    static void quietly(String... command) {
        try {
            run(command);
        } catch (IOException e) {
            System.err.println("cleanup: " + e.getMessage());
        }
    }

    static String tail(String s) {
        return s.length() <= 2000 ? s.strip() : "..." + s.substring(s.length() - 2000).strip();
    }
}
