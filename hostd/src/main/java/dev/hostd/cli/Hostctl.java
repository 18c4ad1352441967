package dev.hostd.cli;

import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * {@code hostctl}: the operators' command line for hostd. It talks HTTP/JSON to the daemon's Unix
 * socket (docs/api-v1-draft.md), prints aligned tables by default and the daemon's JSON with
 * {@code --json}, and ends with the exit codes in {@link ExitCodes} (docs/hostctl.md).
 */
@Command(name = "hostctl",
        mixinStandardHelpOptions = true,
        scope = ScopeType.INHERIT, // every subcommand has --help
        versionProvider = Hostctl.Version.class,
        description = "Operate a hostd daemon over its Unix socket.",
        subcommands = {
                HostCommands.Host.class,
                HostCommands.Health.class,
                HostCommands.Ready.class,
                HostCommands.Metrics.class,
                TemplateCommands.class,
                SandboxCommands.class,
                TenantCommands.class,
                TopCommand.class,
                CommandLine.HelpCommand.class,
        },
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
                "0:ok",
                "1:usage error (unknown command or option, bad argument)",
                "2:not found (template, sandbox or file)",
                "3:conflict (e.g. the id is taken, the sandbox is not in the right state)",
                "4:invalid input (invalid-input, payload-too-large, unsupported-media-type)",
                "5:limit exceeded or unavailable (not ready, shutting down, host out of room)",
                "6:daemon unreachable (socket missing, connection refused, no answer)",
                "7:server or guest error (internal, guest-failure, timeout, corrupt template)",
        },
        footerHeading = "%n",
        footer = {"Errors from the daemon are printed on stderr as \"title: detail\".",
                "The socket defaults to $HOSTD_SOCKET, else " + Hostctl.DEFAULT_SOCKET + ".",
                "See docs/hostctl.md."})
public final class Hostctl {
    static final String DEFAULT_SOCKET = "/run/hostd/hostd.sock";

    @Option(names = "--socket", paramLabel = "PATH", scope = ScopeType.INHERIT,
            defaultValue = "${env:HOSTD_SOCKET:-" + DEFAULT_SOCKET + "}",
            description = "The daemon's Unix socket (default: ${DEFAULT-VALUE}).")
    Path socket;

    @Option(names = "--json", scope = ScopeType.INHERIT,
            description = "Print the daemon's JSON instead of tables (for scripts).")
    boolean json;

    @Option(names = "--timeout", paramLabel = "SECONDS", scope = ScopeType.INHERIT, defaultValue = "60",
            description = "Give up on an answer after this many seconds (default: ${DEFAULT-VALUE}).")
    int timeoutSeconds;

    /** Where binary output (invoke) goes, next to the text writer. */
    OutputStream rawOut;

    ApiClient client() {
        if (timeoutSeconds <= 0) {
            throw new CliException(ExitCodes.USAGE, "--timeout must be at least 1 second");
        }
        return new ApiClient(socket, Duration.ofSeconds(timeoutSeconds));
    }

    public static void main(String[] args) {
        // HttpClient logs through SLF4J: a CLI wants silence, whatever provider the daemon's jars bring.
        System.setProperty("slf4j.provider", System.getProperty("slf4j.provider",
                "org.slf4j.helpers.NOP_FallbackServiceProvider"));
        System.setProperty("slf4j.internal.verbosity", System.getProperty("slf4j.internal.verbosity", "ERROR"));
        int code = run(args, System.out, System.err);
        System.out.flush();
        System.exit(code);
    }

    /** Runs one command line; returns its exit code. */
    public static int run(String[] args, OutputStream stdout, OutputStream stderr) {
        PrintWriter out = new PrintWriter(new OutputStreamWriter(stdout, StandardCharsets.UTF_8), true);
        PrintWriter err = new PrintWriter(new OutputStreamWriter(stderr, StandardCharsets.UTF_8), true);
        Hostctl root = new Hostctl();
        root.rawOut = stdout;
        CommandLine cl = new CommandLine(root);
        cl.setOut(out);
        cl.setErr(err);
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.setParameterExceptionHandler((ex, a) -> {
            CommandLine c = ex.getCommandLine();
            c.getErr().println("hostctl: " + ex.getMessage());
            if (!CommandLine.UnmatchedArgumentException.printSuggestions(ex, c.getErr())) {
                c.getErr().println("Try '" + c.getCommandSpec().qualifiedName() + " --help'.");
            }
            return ExitCodes.USAGE;
        });
        cl.setExecutionExceptionHandler((ex, c, parseResult) -> {
            if (ex instanceof CliException ce) {
                c.getErr().println(ce.getMessage());
                return ce.exitCode();
            }
            c.getErr().println("hostctl: internal error: " + ex);
            return ExitCodes.FAILURE;
        });
        try {
            return cl.execute(args);
        } finally {
            out.flush();
            err.flush();
        }
    }

    /** The version of the hostd jar this hostctl came in. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Hostctl.class.getPackage().getImplementationVersion();
            return new String[] {"hostctl " + (v == null ? "(development build)" : v)};
        }
    }
}
