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
public final class TinyPvhGuests {
    /** The ELF note that names pvh_entry as the PVH entry point (XEN_ELFNOTE_PHYS32_ENTRY). */
    public static final String PVH_NOTE = """
            .section .note.Xen,"a",@note
            .balign 4
            .long 4, 4, 18
            .asciz "Xen"
            .long pvh_entry
            """;
    /** Halts for good with interrupts off (the vCPU then sleeps in KVM). */
    public static final String HALT = """
            9:  cli
                hlt
                jmp 9b
            """;

    /**
     * The head of an AP trampoline, copied by the BSP to 0x8000 (SIPI vector 0x08) and entered in
     * real mode at 0800:0000: it loads the flat GDT LinuxVm wrote at 0x500 and goes on in 32-bit
     * protected mode at {@code ap_32}, with DS = ES = SS = 0x10; the caller writes {@code ap_32}'s
     * code and ends it with {@link #AP_TRAMPOLINE_END}. The BSP copies {@code ap_start..ap_end}.
     */
    static final String AP_TRAMPOLINE_START = """
            .code16
            ap_start:
                cli
                xor %ax, %ax
                mov %ax, %ds
                lgdtl 0x8000 + (ap_gdtr - ap_start)
                mov %cr0, %eax
                or $1, %eax
                mov %eax, %cr0
                ljmpl $0x08, $(0x8000 + (ap_32 - ap_start))
            .code32
            ap_32:
                mov $0x10, %ax
                mov %ax, %ds
                mov %ax, %es
                mov %ax, %ss
            """;
    /** The GDT pointer and end mark of {@link #AP_TRAMPOLINE_START}'s trampoline. */
    static final String AP_TRAMPOLINE_END = """
            .balign 8
            ap_gdtr:                        /* the flat GDT LinuxVm wrote at 0x500 for the PVH entry */
                .word 31
                .long 0x500
            ap_end:
            """;

    private TinyPvhGuests() {}

    /** Assembles {@code body} (starting at pvh_entry, in .code32) with the PVH note into an ELF. */
    public static byte[] build(Path dir, String name, String body) throws IOException, InterruptedException {
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
