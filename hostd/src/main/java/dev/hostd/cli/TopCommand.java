package dev.hostd.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code hostctl top}: a live view of the host and its sandboxes, refreshed every second (the
 * screen is cleared between frames only when stdout is a terminal). {@code --json} prints one
 * compact JSON object per refresh ({@code {"host":…,"sandboxes":[…]}}), one per line.
 */
@Command(name = "top", description = {"Live view of the host and its sandboxes, refreshed every --interval seconds.",
        "Runs until interrupted, or --iterations times. --json prints one JSON object per line per refresh."})
final class TopCommand extends ApiCommand {
    enum Sort { id, template, tenant, state, age, clone }

    @Option(names = {"-n", "--iterations"}, paramLabel = "N", defaultValue = "0",
            description = "Stop after N refreshes (0: until interrupted).")
    int iterations;

    @Option(names = "--interval", paramLabel = "SECONDS", defaultValue = "1",
            description = "Seconds between refreshes (default: ${DEFAULT-VALUE}).")
    double interval;

    @Option(names = "--sort", paramLabel = "KEY", defaultValue = "id",
            description = "Sort sandboxes by: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    Sort sort;

    /** The previous refresh's CPU time per sandbox id, and when it was read, for the CPU% column. */
    private Map<String, Long> lastCpuNanos = Map.of();
    private Instant lastAt;

    @Option(names = "--tenant", paramLabel = "TENANT") String tenant;
    @Option(names = "--template", paramLabel = "TEMPLATE") String template;
    @Option(names = "--state", paramLabel = "STATE") String state;

    @Override
    int run(ApiClient api) throws InterruptedException, JsonProcessingException {
        if (iterations < 0 || !(interval > 0)) {
            throw new CliException(ExitCodes.USAGE, "--iterations must be >= 0 and --interval > 0");
        }
        boolean terminal = System.console() != null && System.console().isTerminal() && !json();
        Map<String, String> q = new LinkedHashMap<>();
        q.put("tenant", tenant);
        q.put("template", template);
        q.put("state", state == null ? null : state.toUpperCase(Locale.ROOT));
        for (int i = 0; iterations == 0 || i < iterations; i++) {
            if (i > 0) {
                Thread.sleep((long) (interval * 1000));
            }
            JsonNode host = ApiClient.expectSuccess(api.get("v1", "host")).json();
            JsonNode sandboxes = ApiClient.expectSuccess(api.get(q, "v1", "sandboxes")).json().path("sandboxes");
            if (json()) {
                ObjectNode frame = object();
                frame.put("time", Instant.now().toString());
                frame.set("host", host);
                frame.set("sandboxes", sandboxes);
                out().println(ApiClient.JSON.writeValueAsString(frame));
                continue;
            }
            StringBuilder screen = new StringBuilder();
            if (terminal) {
                screen.append("\033[H\033[2J");
            } else if (i > 0) {
                screen.append('\n');
            }
            screen.append(frame(host, sandboxes, Instant.now()));
            out().print(screen);
            out().flush();
        }
        return ExitCodes.OK;
    }

    String frame(JsonNode host, JsonNode sandboxes, Instant now) {
        List<JsonNode> list = new ArrayList<>();
        sandboxes.forEach(list::add);
        long running = list.stream().filter(s -> "RUNNING".equals(Format.text(s, "state"))).count();
        long paused = list.stream().filter(s -> "PAUSED".equals(Format.text(s, "state"))).count();
        list.sort(comparator());
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "hostd %s  up %s  %s%n", Format.text(host, "version"),
                host.path("uptimeSeconds").isNumber() ? Format.duration(host.path("uptimeSeconds").asLong()) : "-",
                now.toString()));
        sb.append(String.format(Locale.ROOT, "sandboxes: %s live of %s (shown: %d, %d running, %d paused)  templates: %s%n",
                Format.text(host, "sandboxes", "live"), Format.text(host, "sandboxes", "max"), list.size(), running,
                paused, Format.text(host, "templates")));
        sb.append(String.format(Locale.ROOT, "memory: %s available  %s in templates  %s hostd RSS%n%n",
                Format.bytes(host, "memory", "memAvailableBytes"), Format.bytes(host, "memory", "templateBytes"),
                Format.bytes(host, "memory", "processRssBytes")));
        Table t = SandboxCommands.table(true);
        Map<String, Long> cpuNanos = new java.util.HashMap<>();
        for (JsonNode s : list) {
            List<String> cells = SandboxCommands.cells(s, now);
            cells.add(cpuRate(s, now, cpuNanos));
            t.row(cells.toArray());
        }
        lastCpuNanos = cpuNanos;
        lastAt = now;
        sb.append(t.render());
        return sb.toString();
    }

    /** CPU time used since the previous refresh over the time between them (100% = one CPU), or "-" on the first. */
    private String cpuRate(JsonNode s, Instant now, Map<String, Long> cpuNanos) {
        JsonNode used = Format.at(s, "resources", "cpuUsageNanos");
        if (used == null || !used.isNumber()) {
            return "-";
        }
        String id = Format.text(s, "id");
        cpuNanos.put(id, used.asLong());
        Long before = lastCpuNanos.get(id);
        long elapsed = lastAt == null ? 0 : java.time.Duration.between(lastAt, now).toNanos();
        if (before == null || elapsed <= 0 || used.asLong() < before) {
            return "-";
        }
        return String.format(Locale.ROOT, "%.1f", 100.0 * (used.asLong() - before) / elapsed);
    }

    private Comparator<JsonNode> comparator() {
        Comparator<JsonNode> byId = Comparator.comparing(s -> Format.text(s, "id"));
        return switch (sort) {
            case id -> byId;
            case template -> Comparator.<JsonNode, String>comparing(s -> Format.text(s, "template")).thenComparing(byId);
            case tenant -> Comparator.<JsonNode, String>comparing(s -> Format.text(s, "tenant")).thenComparing(byId);
            case state -> Comparator.<JsonNode, String>comparing(s -> Format.text(s, "state")).thenComparing(byId);
            // newest first; ISO-8601 instants of the same form sort as text
            case age -> Comparator.<JsonNode, String>comparing(s -> Format.text(s, "createdAt")).reversed()
                    .thenComparing(byId);
            case clone -> Comparator.<JsonNode>comparingDouble(s -> -s.path("cloneMillis").asDouble(0))
                    .thenComparing(byId);
        };
    }
}
