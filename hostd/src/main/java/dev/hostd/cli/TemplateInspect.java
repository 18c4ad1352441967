package dev.hostd.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hostd.vmm.snapshot.DeviceState;
import dev.hostd.vmm.snapshot.MemoryChecksum;
import dev.hostd.vmm.snapshot.MicrovmState;
import dev.hostd.vmm.snapshot.SectionInfo;
import dev.hostd.vmm.snapshot.SnapshotFile;
import dev.hostd.vmm.snapshot.SnapshotInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code hostctl template inspect DIR|FILE}: reads a template's state file directly, without the
 * daemon (an offline tool, like Firecracker's snapshot-editor): header, sections, machine, memory
 * file, devices, metadata. A state file that does not fully check out is exit 7 after the report.
 */
@Command(name = "inspect", description = {"Read a template's state file directly (offline, no daemon needed).",
        "DIR is a template directory (its file \"state\" is read) or a state file itself.",
        "Exit 2 if it does not exist, 7 if it is corrupt or (with --check-memory) its memory file does not match."})
final class TemplateInspect extends ApiCommand {
    @Parameters(index = "0", paramLabel = "DIR")
    Path path;

    @Option(names = "--check-memory", description = "Also read the whole memory file and compare its CRC32C.")
    boolean checkMemory;

    @Override
    boolean needsDaemon() {
        return false;
    }

    @Override
    int run(ApiClient unused) {
        Path state = Files.isDirectory(path) ? path.resolve("state") : path;
        if (!Files.exists(state)) {
            throw new CliException(ExitCodes.NOT_FOUND, "no state file: " + state + " does not exist");
        }
        SnapshotInfo info;
        try {
            info = SnapshotFile.inspect(state);
        } catch (NoSuchFileException e) {
            throw new CliException(ExitCodes.NOT_FOUND, "no state file: " + state + " does not exist");
        } catch (IOException e) {
            throw new CliException(ExitCodes.FAILURE, "cannot inspect " + state + ": " + e.getMessage(), e);
        }
        List<String> problems = new ArrayList<>();
        MicrovmState full = null;
        try {
            full = SnapshotFile.read(state);
        } catch (IOException e) {
            problems.add(e.getMessage());
        }
        String memoryCheck = null;
        if (full != null) {
            Path memory = state.resolveSibling(full.memory().fileName());
            memoryCheck = checkMemory(memory, full, problems);
        }

        ObjectNode report = report(state, info, full, memoryCheck, problems);
        if (json()) {
            printJson(report);
        } else {
            printHuman(state, info, full, memoryCheck, problems);
        }
        if (!problems.isEmpty()) {
            err().println(state + " is damaged: " + String.join("; ", problems));
            return ExitCodes.FAILURE;
        }
        return ExitCodes.OK;
    }

    private String checkMemory(Path memory, MicrovmState s, List<String> problems) {
        if (!Files.isRegularFile(memory)) {
            problems.add("memory file " + memory + " is missing");
            return "missing";
        }
        try {
            long size = Files.size(memory);
            if (size != s.memory().sizeBytes()) {
                problems.add("memory file " + memory + " has " + size + " bytes, the state says "
                        + s.memory().sizeBytes());
                return "size mismatch";
            }
            if (!checkMemory) {
                return "present, size matches (CRC32C not checked; --check-memory)";
            }
            int crc = MemoryChecksum.crc32c(memory);
            if (crc != s.memory().crc32c()) {
                problems.add(String.format(Locale.ROOT, "memory file %s: CRC32C 0x%08x, the state says 0x%08x",
                        memory, crc, s.memory().crc32c()));
                return "CRC32C mismatch";
            }
            return "present, size and CRC32C match";
        } catch (IOException e) {
            problems.add("memory file " + memory + ": " + e.getMessage());
            return "unreadable";
        }
    }

    private static ObjectNode report(Path state, SnapshotInfo info, MicrovmState s, String memoryCheck,
            List<String> problems) {
        ObjectNode r = object();
        r.put("file", state.toString());
        r.put("formatVersion", info.formatMajor() + "." + info.formatMinor());
        r.put("bodyLength", info.bodyLength());
        r.put("bodyCrc32c", String.format(Locale.ROOT, "0x%08x", info.crc32c()));
        r.put("checksumValid", info.checksumValid());
        ArrayNode sections = r.putArray("sections");
        for (SectionInfo sec : info.sections()) {
            sections.addObject().put("name", sec.name()).put("offset", sec.offset()).put("length", sec.length());
        }
        if (s != null) {
            r.putObject("machine").put("vcpus", s.machine().vcpuCount()).put("memoryBytes", s.machine().memoryBytes())
                    .put("irqchip", s.machine().irqchip()).put("guestKind", s.machine().guestKind());
            r.putObject("memory").put("fileName", s.memory().fileName()).put("sizeBytes", s.memory().sizeBytes())
                    .put("crc32c", String.format(Locale.ROOT, "0x%08x", s.memory().crc32c()))
                    .put("check", memoryCheck);
            ArrayNode devices = r.putArray("devices");
            for (DeviceState d : s.devices()) {
                devices.addObject().put("name", d.name()).put("kind", d.kind()).put("stateBytes", d.data().length);
            }
            ObjectNode meta = r.putObject("metadata");
            s.metadata().forEach(meta::put);
        }
        r.put("ok", problems.isEmpty());
        ArrayNode p = r.putArray("problems");
        problems.forEach(p::add);
        return r;
    }

    private void printHuman(Path state, SnapshotInfo info, MicrovmState s, String memoryCheck, List<String> problems) {
        Table head = Table.keyValue()
                .row("file:", state)
                .row("format:", info.formatMajor() + "." + info.formatMinor())
                .row("body:", String.format(Locale.ROOT, "%d bytes, CRC32C 0x%08x (%s)", info.bodyLength(),
                        info.crc32c(), info.checksumValid() ? "valid" : "INVALID"));
        if (s != null) {
            head.row("machine:", s.machine().vcpuCount() + " vCPU, " + Format.bytes(s.machine().memoryBytes())
                            + ", irqchip " + (s.machine().irqchip() ? "yes" : "no") + ", guest " + s.machine().guestKind())
                    .row("memory file:", String.format(Locale.ROOT, "%s, %d bytes, CRC32C 0x%08x: %s",
                            s.memory().fileName(), s.memory().sizeBytes(), s.memory().crc32c(), memoryCheck));
        }
        out().print(head.render());
        out().println();
        Table sections = Table.withHeaders("SECTION", "OFFSET", "LENGTH").right(1, 2);
        info.sections().forEach(sec -> sections.row(sec.name(), sec.offset(), sec.length()));
        out().print(sections.render());
        if (s != null && !s.devices().isEmpty()) {
            out().println();
            Table devices = Table.withHeaders("DEVICE", "KIND", "STATE BYTES").right(2);
            s.devices().forEach(d -> devices.row(d.name(), d.kind(), d.data().length));
            out().print(devices.render());
        }
        if (s != null && !s.metadata().isEmpty()) {
            out().println();
            Table meta = Table.withHeaders("METADATA", "VALUE");
            s.metadata().forEach(meta::row);
            out().print(meta.render());
        }
        if (problems.isEmpty()) {
            out().println();
            out().println("ok");
        }
    }
}
