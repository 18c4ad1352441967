package dev.hostd.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code hostctl sandbox ...}: clones of templates. */
@Command(name = "sandbox", description = "Manage sandboxes: list, create, get, delete, invoke, pause, resume, console.",
        subcommands = {
                SandboxCommands.ListSandboxes.class,
                SandboxCommands.Create.class,
                SandboxCommands.Get.class,
                SandboxCommands.Delete.class,
                SandboxCommands.Invoke.class,
                SandboxCommands.Pause.class,
                SandboxCommands.Resume.class,
                SandboxCommands.Console.class,
        })
final class SandboxCommands {

    static Table table() {
        return table(false);
    }

    /** The sandbox table; with {@code cpuRate} a CPU% column (top: CPU time between two refreshes). */
    static Table table(boolean cpuRate) {
        List<String> headers = new ArrayList<>(List.of("ID", "TEMPLATE", "TENANT", "STATE", "IPV4", "MAC", "AGE", "CLONE MS", "GEN",
                "MEM LIMIT", "CPU LIMIT", "CPU S"));
        if (cpuRate) {
            headers.add("CPU%");
        }
        Table t = Table.withHeaders(headers.toArray(String[]::new)).right(7, 8, 9, 10, 11);
        return cpuRate ? t.right(12) : t;
    }

    static void addRow(Table t, JsonNode s, Instant now) {
        t.row(cells(s, now).toArray());
    }

    static List<String> cells(JsonNode s, Instant now) {
        String ip = Format.text(s, "ipv4");
        if (s.path("prefixLength").isNumber()) {
            ip += "/" + s.path("prefixLength").asInt();
        }
        return new ArrayList<>(List.of(Format.text(s, "id"), Format.text(s, "template"), Format.text(s, "tenant"), Format.text(s, "state"),
                ip, Format.text(s, "mac"), Format.age(Format.text(s, "createdAt"), now),
                Format.millis(s, "cloneMillis"), Format.text(s, "agent", "generation"),
                Format.bytes(s, "resources", "memoryLimitBytes"), cpuLimit(s), cpuSeconds(s)));
    }

    /** "20%" (of one CPU), "max" (no quota) or "-" (no cgroup: hostd.cgroups.enabled is false, or an older daemon). */
    static String cpuLimit(JsonNode s) {
        JsonNode limits = Format.at(s, "resources", "limits");
        if (limits == null || !limits.isObject()) {
            return "-";
        }
        return limits.path("cpuPercent").isNumber() ? limits.path("cpuPercent").asInt() + "%" : "max";
    }

    static String cpuSeconds(JsonNode s) {
        JsonNode v = Format.at(s, "resources", "cpuUsageNanos");
        return v == null || !v.isNumber() ? "-" : String.format(Locale.ROOT, "%.2f", v.asLong() / 1e9);
    }

    static String describe(JsonNode s) {
        return Table.keyValue()
                .row("id:", Format.text(s, "id"))
                .row("template:", Format.text(s, "template"))
                .row("tenant:", Format.text(s, "tenant"))
                .row("state:", Format.text(s, "state"))
                .row("mac:", Format.text(s, "mac"))
                .row("ipv4:", Format.text(s, "ipv4") + "/" + Format.text(s, "prefixLength"))
                .row("gateway:", Format.text(s, "gateway"))
                .row("hostname:", Format.text(s, "hostname"))
                .row("created:", Format.text(s, "createdAt"))
                .row("clone:", Format.millis(s, "cloneMillis") + " ms")
                .row("agent:", "generation " + Format.text(s, "agent", "generation") + ", identities seen "
                        + Format.text(s, "agent", "identitiesSeen") + ", version " + Format.text(s, "agent", "agentVersion"))
                .row("memory:", memory(s))
                .row("cpu:", cpu(s))
                .row("cgroup:", Format.text(s, "resources", "cgroup"))
                .render();
    }

    /** "36.0 KiB private of 64.0 MiB guest RAM"; the private figure only where the daemon measured it (get). */
    private static String memory(JsonNode s) {
        String limit = Format.bytes(s, "resources", "memoryLimitBytes") + " guest RAM";
        JsonNode p = Format.at(s, "resources", "privateMemoryBytes");
        return p == null || !p.isNumber() ? limit : Format.bytes(p.asLong()) + " private of " + limit;
    }

    private static String cpu(JsonNode s) {
        JsonNode limits = Format.at(s, "resources", "limits");
        if (limits == null || !limits.isObject()) {
            return "no cgroup (hostd.cgroups.enabled is false)";
        }
        String quota = limits.path("cpuPercent").isNumber() ? limits.path("cpuPercent").asInt() + "% of a CPU" : "no quota";
        return quota + ", weight " + Format.text(limits, "cpuWeight") + ", used " + cpuSeconds(s) + " s";
    }

    /** Prints one sandbox answer (create, get, pause, resume). */
    abstract static class OneSandbox extends ApiCommand {
        int print(JsonNode s) {
            return show(s, SandboxCommands::describe);
        }
    }

    @Command(name = "list", description = "List sandboxes, optionally filtered.")
    static final class ListSandboxes extends ApiCommand {
        @Option(names = "--tenant", paramLabel = "TENANT") String tenant;
        @Option(names = "--template", paramLabel = "TEMPLATE") String template;
        @Option(names = "--state", paramLabel = "STATE", description = "RUNNING, PAUSED or STOPPED") String state;

        @Override
        int run(ApiClient api) {
            Map<String, String> q = new LinkedHashMap<>();
            q.put("tenant", tenant);
            q.put("template", template);
            q.put("state", state == null ? null : state.toUpperCase(Locale.ROOT));
            return show(ApiClient.expectSuccess(api.get(q, "v1", "sandboxes")).json(), all -> {
                Table t = table();
                Instant now = Instant.now();
                all.path("sandboxes").forEach(s -> addRow(t, s, now));
                return t.render();
            });
        }
    }

    @Command(name = "create", description = {"Clone a sandbox from a template.",
            "Identity fields left out are chosen by the daemon."})
    static final class Create extends OneSandbox {
        @Option(names = "--template", required = true, paramLabel = "TEMPLATE") String template;
        @Option(names = "--tenant", paramLabel = "TENANT") String tenant;
        @Option(names = "--id", paramLabel = "ID") String id;
        @Option(names = "--mac", paramLabel = "MAC", description = "e.g. 02:00:00:00:00:01") String mac;
        @Option(names = "--ipv4", paramLabel = "ADDRESS") String ipv4;
        @Option(names = "--prefix-length", paramLabel = "N") Integer prefixLength;
        @Option(names = "--gateway", paramLabel = "ADDRESS") String gateway;
        @Option(names = "--hostname", paramLabel = "NAME") String hostname;
        @Option(names = "--cpu-percent", paramLabel = "N",
                description = "CPU quota: N% of one CPU, 1..100 (default: the daemon's hostd.cgroups.cpu-percent).") Integer cpuPercent;
        @Option(names = "--cpu-weight", paramLabel = "N",
                description = "CPU weight when the host is busy, 1..10000, 100 = even (default: hostd.cgroups.cpu-weight).") Integer cpuWeight;
        @Option(names = {"-q", "--quiet"}, description = "Print only the new sandbox's id.") boolean quiet;

        @Override
        int run(ApiClient api) {
            ObjectNode body = object();
            putIf(body, "id", id);
            body.put("template", template);
            putIf(body, "tenant", tenant);
            putIf(body, "mac", mac);
            putIf(body, "ipv4", ipv4);
            if (prefixLength != null) {
                body.put("prefixLength", prefixLength);
            }
            putIf(body, "gateway", gateway);
            putIf(body, "hostname", hostname);
            if (cpuPercent != null || cpuWeight != null) { // the daemon checks the ranges and needs cgroups on
                ObjectNode limits = body.putObject("limits");
                if (cpuPercent != null) {
                    limits.put("cpuPercent", cpuPercent);
                }
                if (cpuWeight != null) {
                    limits.put("cpuWeight", cpuWeight);
                }
            }
            JsonNode s = ApiClient.expectSuccess(api.post(body, "v1", "sandboxes")).json();
            if (quiet && !json()) {
                out().println(Format.text(s, "id"));
                return ExitCodes.OK;
            }
            return print(s);
        }

        private static void putIf(ObjectNode o, String k, String v) {
            if (v != null) {
                o.put(k, v);
            }
        }
    }

    @Command(name = "get", description = "Show one sandbox.")
    static final class Get extends OneSandbox {
        @Parameters(index = "0", paramLabel = "ID") String id;

        @Override
        int run(ApiClient api) {
            return print(ApiClient.expectSuccess(api.get("v1", "sandboxes", id)).json());
        }
    }

    @Command(name = "delete", description = "Stop and delete a sandbox.")
    static final class Delete extends ApiCommand {
        @Parameters(index = "0", paramLabel = "ID") String id;

        @Override
        int run(ApiClient api) {
            ApiClient.expectSuccess(api.delete("v1", "sandboxes", id));
            return showDeleted("sandbox", id);
        }
    }

    @Command(name = "pause", description = "Pause a sandbox's vCPUs.")
    static final class Pause extends OneSandbox {
        @Parameters(index = "0", paramLabel = "ID") String id;

        @Override
        int run(ApiClient api) {
            return print(ApiClient.expectSuccess(api.post(null, "v1", "sandboxes", id, "pause")).json());
        }
    }

    @Command(name = "resume", description = "Resume a paused sandbox.")
    static final class Resume extends OneSandbox {
        @Parameters(index = "0", paramLabel = "ID") String id;

        @Override
        int run(ApiClient api) {
            return print(ApiClient.expectSuccess(api.post(null, "v1", "sandboxes", id, "resume")).json());
        }
    }

    @Command(name = "console", description = "Print a sandbox's console log (bounded, kept by the daemon).")
    static final class Console extends ApiCommand {
        @Parameters(index = "0", paramLabel = "ID") String id;

        @Override
        int run(ApiClient api) {
            String text = ApiClient.expectSuccess(api.get("v1", "sandboxes", id, "console")).text();
            out().print(text);
            if (!text.isEmpty() && !text.endsWith("\n")) {
                out().println();
            }
            return ExitCodes.OK;
        }
    }

    @Command(name = "invoke", description = {"Call a function in a sandbox's guest.",
            "Human mode prints the output (text as is, binary as base64 unless -o) and the status on stderr;",
            "--json prints the daemon's answer. A function status other than OK is exit 7."})
    static final class Invoke extends ApiCommand {
        @Parameters(index = "0", paramLabel = "ID") String id;
        @Parameters(index = "1", paramLabel = "FUNCTION", description = "e.g. echo, sha256, identity") String function;

        @ArgGroup(exclusive = true)
        Argument argument;

        static final class Argument {
            @Option(names = {"-a", "--arg"}, paramLabel = "TEXT", description = "The argument as UTF-8 text.")
            String text;
            @Option(names = "--arg-file", paramLabel = "FILE", description = "The argument: the bytes of FILE.")
            Path file;
            @Option(names = "--arg-base64", paramLabel = "BASE64", description = "The argument, base64-encoded.")
            String base64;
        }

        @Option(names = {"-o", "--output"}, paramLabel = "FILE", description = "Write the raw output bytes to FILE.")
        Path output;

        @Override
        int run(ApiClient api) throws IOException {
            ObjectNode body = object().put("function", function).put("argumentBase64", argumentBase64());
            JsonNode r = ApiClient.expectSuccess(api.post(body, "v1", "sandboxes", id, "invoke")).json();
            byte[] bytes = decode(Format.text(r, "outputBase64"));
            if (output != null) {
                Files.write(output, bytes);
            }
            int status = r.path("status").asInt(-1);
            String statusName = Format.text(r, "statusName");
            if (json()) {
                printJson(r);
            } else {
                if (output == null) {
                    String text = utf8Text(bytes);
                    if (text != null) {
                        out().print(text);
                        if (!text.isEmpty() && !text.endsWith("\n")) {
                            out().println();
                        }
                    } else {
                        out().println(Base64.getEncoder().encodeToString(bytes));
                    }
                }
                err().println(String.format(Locale.ROOT, "%s: status %d %s, %d bytes, %s ms%s", function, status,
                        statusName, bytes.length, Format.millis(r, "millis"),
                        output == null && utf8Text(bytes) == null ? " (binary output shown as base64; -o FILE)" : ""));
            }
            if (status != 0) {
                if (json()) {
                    err().println(function + " failed in sandbox " + id + ": status " + status + " " + statusName);
                }
                return ExitCodes.FAILURE;
            }
            return ExitCodes.OK;
        }

        private String argumentBase64() throws IOException {
            if (argument == null) {
                return "";
            }
            if (argument.text != null) {
                return Base64.getEncoder().encodeToString(argument.text.getBytes(StandardCharsets.UTF_8));
            }
            if (argument.file != null) {
                try {
                    return Base64.getEncoder().encodeToString(Files.readAllBytes(argument.file));
                } catch (NoSuchFileException e) {
                    throw new CliException(ExitCodes.NOT_FOUND, "no such file: " + argument.file);
                }
            }
            try {
                Base64.getDecoder().decode(argument.base64); // refuse bad base64 here, not at the daemon
            } catch (IllegalArgumentException e) {
                throw new CliException(ExitCodes.USAGE, "--arg-base64 is not base64: " + e.getMessage());
            }
            return argument.base64;
        }

        private static byte[] decode(String b64) {
            if (b64 == null || b64.equals("-")) {
                return new byte[0];
            }
            try {
                return Base64.getDecoder().decode(b64);
            } catch (IllegalArgumentException e) {
                throw new CliException(ExitCodes.FAILURE, "the daemon's outputBase64 is not base64: " + e.getMessage());
            }
        }

        /** The bytes as text if they are UTF-8 without control characters other than tab, CR and LF. */
        private static String utf8Text(byte[] bytes) {
            try {
                String s = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
                for (int i = 0; i < s.length(); i++) {
                    char c = s.charAt(i);
                    if (Character.isISOControl(c) && c != '\n' && c != '\r' && c != '\t') {
                        return null;
                    }
                }
                return s;
            } catch (CharacterCodingException e) {
                return null;
            }
        }
    }
}
