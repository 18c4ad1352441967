package dev.hostd.vmm.machine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Tiny kernels for {@link LinuxVm}: 32-bit code entered through a PVH note as a Linux kernel is, a
 * few instructions at CPL 0 (so fast enough even where each one is emulated, host-facts.md).
 */
final class TinyPvhGuests {
    /** The ELF note that names pvh_entry as the PVH entry point (XEN_ELFNOTE_PHYS32_ENTRY). */
    static final String PVH_NOTE = """
            .section .note.Xen,"a",@note
            .balign 4
            .long 4, 4, 18
            .asciz "Xen"
            .long pvh_entry
            """;
    /** Halts for good with interrupts off (the vCPU then sleeps in KVM). */
    static final String HALT = """
            9:  cli
                hlt
                jmp 9b
            """;

    private TinyPvhGuests() {}

    /** Assembles {@code body} (starting at pvh_entry, in .code32) with the PVH note into an ELF. */
    static byte[] build(Path dir, String name, String body) throws IOException, InterruptedException {
        Path src = dir.resolve(name + ".S");
        Files.writeString(src, ".text\n.code32\n.globl _start\n_start:\npvh_entry:\n" + body + "\n" + PVH_NOTE);
        Path out = dir.resolve(name + ".elf");
        Process p = new ProcessBuilder(List.of("gcc", "-nostdlib", "-static", "-no-pie", "-Wl,--build-id=none",
                "-o", out.toString(), src.toString())).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("gcc failed for " + name + ":\n" + log);
        }
        return Files.readAllBytes(out);
    }
}
