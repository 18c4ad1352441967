package dev.hostd.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * One busy loop per CPU at SCHED_IDLE, for as long as this is open: a CPU with nothing else to run
 * spins instead of halting, and any real thread woken for it preempts the spinner at once. That is
 * what halt-polling (the guest's cpuidle-haltpoll driver, or bare metal's shallow C-states) gives a
 * host; these hosts are microVMs without it, where waking a thread on a halted CPU takes ~45 µs
 * instead of ~3.5 µs (docs/design.md). The API benchmark measures with and without, to show how
 * much of its overhead is those wake-ups.
 */
final class IdlePollers implements AutoCloseable {
    private final List<Process> spinners = new ArrayList<>();

    IdlePollers() {
        int cpus = Runtime.getRuntime().availableProcessors();
        long jvm = ProcessHandle.current().pid();
        try {
            for (int i = 0; i < cpus; i++) {
                // Pinned, one per CPU; the loop ends by itself once this JVM is gone, even if it was killed.
                spinners.add(new ProcessBuilder("taskset", "-c", Integer.toString(i), "chrt", "--idle", "0",
                        "sh", "-c", "while kill -0 " + jvm + " 2>/dev/null; do :; done")
                        .redirectErrorStream(true).start());
            }
            Thread.sleep(200);
            for (Process p : spinners) {
                if (!p.isAlive()) { // chrt or taskset refused (e.g. no permission): the figures would not be polled ones
                    String why = new String(p.getInputStream().readAllBytes()).strip();
                    throw new IllegalStateException("a SCHED_IDLE spinner exited at once (" + p.exitValue() + "): " + why);
                }
            }
        } catch (IOException e) {
            close();
            throw new UncheckedIOException("starting SCHED_IDLE spinners with taskset and chrt (util-linux)", e);
        } catch (InterruptedException | RuntimeException e) {
            close();
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw e instanceof RuntimeException r ? r : new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        for (Process p : spinners) {
            p.destroyForcibly();
        }
        for (Process p : spinners) {
            try {
                p.waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
