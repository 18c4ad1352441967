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
        try {
            for (int i = 0; i < cpus; i++) {
                spinners.add(new ProcessBuilder("chrt", "--idle", "0", "sh", "-c", "while :; do :; done")
                        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start());
            }
        } catch (IOException e) {
            close();
            throw new UncheckedIOException("starting SCHED_IDLE spinners with chrt (util-linux)", e);
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
