package dev.hostd.vmm.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Tiny user-mode guests built from assembly with gcc, to test the engine without the test guest:
 * valid ELF images that are not the agent, and the raw material for malformed ones. Shared with
 * other modules' tests through vmm-bridge's test jar.
 */
public final class TinyGuests {
    private TinyGuests() {}

    public static byte[] build(Path dir, String name, String assembly, String... linkerOptions) throws IOException, InterruptedException {
        Path source = dir.resolve(name + ".S");
        Path elf = dir.resolve(name + ".elf");
        Files.writeString(source, ".globl _start\n.text\n_start:\n" + assembly + "\n");
        List<String> command = new ArrayList<>(List.of("gcc", "-nostdlib", "-static", "-no-pie", "-Wl,--build-id=none"));
        if (linkerOptions.length == 0) {
            command.add("-Wl,-Ttext-segment=0x100000");
        }
        command.addAll(List.of(linkerOptions));
        command.addAll(List.of("-o", elf.toString(), source.toString()));
        Process gcc = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(gcc.getInputStream().readAllBytes());
        if (!gcc.waitFor(60, TimeUnit.SECONDS) || gcc.exitValue() != 0) {
            throw new IllegalStateException("gcc failed for " + name + ":\n" + output);
        }
        return Files.readAllBytes(elf);
    }

    /** Writes {@code text} to the console, one {@code out} per byte. */
    public static String print(String text) {
        StringBuilder asm = new StringBuilder("  mov $0x3f8, %dx\n");
        for (char c : text.toCharArray()) {
            asm.append("  mov $").append((int) c).append(", %al\n  out %al, %dx\n");
        }
        return asm.toString();
    }

    /** Parks on the wait port forever: a valid guest that never says hello. */
    public static final String PARK_FOREVER = "  mov $0x510, %dx\n1: out %al, %dx\n  jmp 1b";
}
