package dev.hostd.vmm.machine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Builds tiny user-mode guests from assembly with gcc, to test the engine without the test guest. */
final class TinyGuests {
    private TinyGuests() {}

    static byte[] build(Path dir, String name, String assembly) throws IOException, InterruptedException {
        Path source = dir.resolve(name + ".S");
        Path elf = dir.resolve(name + ".elf");
        Files.writeString(source, ".globl _start\n.text\n_start:\n" + assembly + "\n");
        Process gcc = new ProcessBuilder(List.of("gcc", "-nostdlib", "-static", "-no-pie", "-Wl,-Ttext-segment=0x100000",
                "-Wl,--build-id=none", "-o", elf.toString(), source.toString())).redirectErrorStream(true).start();
        String output = new String(gcc.getInputStream().readAllBytes());
        if (!gcc.waitFor(60, TimeUnit.SECONDS) || gcc.exitValue() != 0) {
            throw new IllegalStateException("gcc failed for " + name + ":\n" + output);
        }
        return Files.readAllBytes(elf);
    }

    /** Writes {@code text} to the console, one `out` per byte. */
    static String print(String text) {
        StringBuilder asm = new StringBuilder("  mov $0x3f8, %dx\n");
        for (char c : text.toCharArray()) {
            asm.append("  mov $").append((int) c).append(", %al\n  out %al, %dx\n");
        }
        return asm.toString();
    }
}
