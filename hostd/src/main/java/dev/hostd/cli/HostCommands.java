package dev.hostd.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.Command;

/** The commands about the daemon and its host: host, health, ready, metrics. */
final class HostCommands {
    private HostCommands() {}

    @Command(name = "host", description = "Show the host: version, KVM, sandboxes, templates, memory, uptime.")
    static final class Host extends ApiCommand {
        @Override
        int run(ApiClient api) {
            return show(ApiClient.expectSuccess(api.get("v1", "host")).json(), h -> Table.keyValue()
                    .row("version:", Format.text(h, "version"))
                    .row("kvm:", Format.text(h, "kvm", "device") + " (API " + Format.text(h, "kvm", "apiVersion") + ")")
                    .row("sandboxes:", Format.text(h, "sandboxes", "live") + " live of " + Format.text(h, "sandboxes", "max"))
                    .row("templates:", Format.text(h, "templates"))
                    .row("memory available:", Format.bytes(h, "memory", "memAvailableBytes"))
                    .row("template memory:", Format.bytes(h, "memory", "templateBytes"))
                    .row("hostd RSS:", Format.bytes(h, "memory", "processRssBytes"))
                    .row("uptime:", h.path("uptimeSeconds").isNumber()
                            ? Format.duration(h.path("uptimeSeconds").asLong()) : "-")
                    .render());
        }
    }

    @Command(name = "health", description = "Is the daemon process alive? Prints UP (exit 0).")
    static final class Health extends ApiCommand {
        @Override
        int run(ApiClient api) {
            return show(ApiClient.expectSuccess(api.get("v1", "health")).json(), h -> Format.text(h, "status") + "\n");
        }
    }

    @Command(name = "ready", description = {"Is the daemon ready to clone? Prints READY (exit 0);",
            "not ready or shutting down is exit 5."})
    static final class Ready extends ApiCommand {
        @Override
        int run(ApiClient api) {
            return show(ApiClient.expectSuccess(api.get("v1", "ready")).json(), r -> Format.text(r, "status") + "\n");
        }
    }

    @Command(name = "metrics", description = "Print the Prometheus metrics (text format, with or without --json).")
    static final class Metrics extends ApiCommand {
        @Override
        int run(ApiClient api) {
            out().print(ApiClient.expectSuccess(api.get("metrics")).text());
            return ExitCodes.OK;
        }
    }
}
