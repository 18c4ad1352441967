package dev.hostd.vmm.loader.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hostd.vmm.VmmException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The PVH note parser on ELF files that gcc and ld build here, with the note written the way the
 * kernel's ELFNOTE macro writes it (arch/x86/platform/pvh/head.S): owner "Xen", type 18, a .long.
 */
class PvhNoteTest {
    @TempDir
    Path dir;

    @Test
    void findsThePvhEntryNoteAmongOthers() throws Exception {
        byte[] elf = build("""
                .section .note.other,"a",@note
                .balign 4
                .long 4, 8, 1
                .asciz "GNU"
                .quad 0x1122334455667788
                .section .note.Xen,"a",@note
                .balign 4
                .long 4, 4, 17
                .asciz "Xen"
                .long 0xdeadbeef
                .balign 4
                .long 4, 4, 18
                .asciz "Xen"
                .long 0x1000abc
                """);
        assertEquals(OptionalLong.of(0x1000abc), PvhNote.find(elf));
    }

    @Test
    void anElfWithoutTheNoteHasNoPvhEntry() throws Exception {
        byte[] elf = build("""
                .section .note.other,"a",@note
                .balign 4
                .long 4, 4, 18
                .asciz "GNU"
                .long 0x1000abc
                """);
        assertEquals(OptionalLong.empty(), PvhNote.find(elf), "type 18 of another owner is not the PVH entry");
    }

    @Test
    void badFilesAreRefused() throws Exception {
        VmmException e = assertThrows(VmmException.class, () -> PvhNote.find(TestImages.bzImage()));
        assertTrue(e.getMessage().contains("not an ELF file"), e.getMessage());

        byte[] elf = build("""
                .section .note.Xen,"a",@note
                .balign 4
                .long 4, 4, 18
                .asciz "Xen"
                .long 0x1000abc
                """);
        ByteBuffer b = ByteBuffer.wrap(elf).order(ByteOrder.LITTLE_ENDIAN);
        int phoff = (int) b.getLong(32);
        int note = -1;
        for (int i = 0; i < b.getShort(56); i++) {
            if (b.getInt(phoff + 56 * i) == 4) {
                note = (int) b.getLong(phoff + 56 * i + 8);
            }
        }
        assertTrue(note > 0, "ld made a PT_NOTE segment");
        b.putInt(note + 4, 4096); // descsz far beyond the segment
        e = assertThrows(VmmException.class, () -> PvhNote.find(elf));
        assertTrue(e.getMessage().contains("runs past the segment's end"), e.getMessage());
    }

    /** Assembles {@code notes} plus an entry symbol into a static, non-PIE x86-64 ELF. */
    private byte[] build(String notes) throws IOException, InterruptedException {
        Path source = dir.resolve("notes.S");
        Files.writeString(source, ".text\n.globl _start\n_start: hlt\n" + notes);
        Path out = dir.resolve("notes.elf");
        Process p = new ProcessBuilder(List.of("gcc", "-nostdlib", "-static", "-no-pie", "-Wl,--build-id=none",
                "-o", out.toString(), source.toString())).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), "gcc failed:\n" + log);
        return Files.readAllBytes(out);
    }
}
