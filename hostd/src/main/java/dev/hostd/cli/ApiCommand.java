package dev.hostd.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import java.util.function.Function;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** What every command shares: the root options, the output streams, JSON printing. */
abstract class ApiCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    Hostctl root() {
        return (Hostctl) spec.root().userObject();
    }

    boolean json() {
        return root().json;
    }

    PrintWriter out() {
        return spec.commandLine().getOut();
    }

    PrintWriter err() {
        return spec.commandLine().getErr();
    }

    void printJson(JsonNode node) {
        try {
            out().println(ApiClient.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(node));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Prints {@code node} as JSON with {@code --json}, else as {@code human} renders it; exit 0. */
    int show(JsonNode node, Function<JsonNode, String> human) {
        if (json()) {
            printJson(node);
        } else {
            out().print(human.apply(node));
        }
        return ExitCodes.OK;
    }

    /** What a delete prints: its JSON says which object is gone. */
    int showDeleted(String kind, String id) {
        return show(object().put("id", id).put("deleted", true), n -> "deleted " + kind + " " + id + "\n");
    }

    static ObjectNode object() {
        return ApiClient.JSON.createObjectNode();
    }

    @Override
    public final Integer call() throws Exception {
        try (ApiClient api = needsDaemon() ? root().client() : null) {
            return run(api);
        }
    }

    /** False for offline commands, which get a null client. */
    boolean needsDaemon() {
        return true;
    }

    abstract int run(ApiClient api) throws Exception;
}
