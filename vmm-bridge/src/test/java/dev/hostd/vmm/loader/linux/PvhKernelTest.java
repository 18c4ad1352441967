package dev.hostd.vmm.loader.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hostd.vmm.VmmException;
import dev.hostd.vmm.memory.GuestMemory;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The PVH loader on small ELFs that gcc and ld build here, shaped like a vmlinux: a PVH note naming the entry. */
class PvhKernelTest {
    @TempDir
    Path dir;

    private static final String KERNEL = """
            .text
            .globl _start
            _start: hlt
            pvh_entry: .byte 0xf4, 0xf4, 0xf4
            .data
            .quad 0x1122334455667788
            .bss
            .skip 8192
            .section .note.Xen,"a",@note
            .balign 4
            .long 4, 4, 18
            .asciz "Xen"
            .long pvh_entry
            """;

    @Test
    void loadsSegmentsAtTheirPhysicalAddressesAndEntersAtTheNote() throws Exception {
        byte[] elf = build(KERNEL);
        PvhKernel kernel = PvhKernel.parse(elf);
        ByteBuffer b = ByteBuffer.wrap(elf).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(b.getLong(24) + 1, kernel.pvhEntry(), "the note's address (pvh_entry), not e_entry (_start)");
        assertTrue(kernel.segments().size() >= 2, "text and data: " + kernel.segments());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ram = arena.allocate(16 << 20, 4096);
            ram.fill((byte) 0x5A); // the loader must zero the bss
            GuestMemory memory = new GuestMemory(ram);
            kernel.load(memory, elf);
            for (PvhKernel.Segment s : kernel.segments()) {
                for (long i = 0; i < s.fileSize(); i++) {
                    assertEquals(elf[(int) (s.fileOffset() + i)], memory.readU8(s.physical() + i), "file byte " + i + " of " + s);
                }
                for (long i = s.fileSize(); i < s.memorySize(); i++) {
                    assertEquals(0, ram.get(ValueLayout.JAVA_BYTE, s.physical() + i), "bss byte " + i + " of " + s);
                }
            }
            assertEquals((byte) 0xF4, memory.readU8(kernel.pvhEntry()));
        }
    }

    @Test
    void tooLittleRamIsRefusedWithTheSizeNeeded() throws Exception {
        byte[] elf = build(KERNEL);
        PvhKernel kernel = PvhKernel.parse(elf);
        try (Arena arena = Arena.ofConfined()) {
            GuestMemory memory = new GuestMemory(arena.allocate(2 << 20, 4096));
            VmmException e = assertThrows(VmmException.class, () -> kernel.load(memory, elf));
            assertTrue(e.getMessage().contains("give it at least " + ((kernel.end() + (1 << 20) - 1) >> 20) + " MiB"), e.getMessage());
        }
    }

    @Test
    void aKernelWithoutPvhIsRefused() throws Exception {
        byte[] elf = build(".text\n.globl _start\n_start: hlt\n");
        VmmException e = assertThrows(VmmException.class, () -> PvhKernel.parse(elf));
        assertTrue(e.getMessage().contains("built without CONFIG_PVH"), e.getMessage());
    }

    @Test
    void anEntryOutsideTheSegmentsIsRefused() throws Exception {
        byte[] elf = build(KERNEL.replace(".long pvh_entry", ".long 0x10000000"));
        VmmException e = assertThrows(VmmException.class, () -> PvhKernel.parse(elf));
        assertTrue(e.getMessage().contains("PVH entry 0x10000000 lies in no loaded segment"), e.getMessage());
    }

    @Test
    void segmentsBelowOneMibAreRefused() throws Exception {
        byte[] elf = build(KERNEL, "-Wl,-Ttext-segment=0x80000");
        VmmException e = assertThrows(VmmException.class, () -> PvhKernel.parse(elf));
        assertTrue(e.getMessage().contains("is not between 1 MiB and 1 TiB"), e.getMessage());
    }

    @Test
    void aFileShorterThanItsSegmentsIsRefused() throws Exception {
        byte[] elf = build(KERNEL);
        ByteBuffer b = ByteBuffer.wrap(elf).order(ByteOrder.LITTLE_ENDIAN);
        int phoff = (int) b.getLong(32);
        for (int i = 0; i < b.getShort(56); i++) {
            if (b.getInt(phoff + 56 * i) == 1) {
                b.putLong(phoff + 56 * i + 32, elf.length * 2L); // p_filesz past the end of the file
                break;
            }
        }
        VmmException e = assertThrows(VmmException.class, () -> PvhKernel.parse(elf));
        assertTrue(e.getMessage().contains("do not fit the " + elf.length + "-byte file"), e.getMessage());
    }

    private byte[] build(String source, String... ldFlags) throws IOException, InterruptedException {
        Path src = dir.resolve("kernel.S");
        Files.writeString(src, source);
        Path out = dir.resolve("kernel.elf");
        List<String> cmd = new java.util.ArrayList<>(List.of("gcc", "-nostdlib", "-static", "-no-pie", "-Wl,--build-id=none",
                "-o", out.toString(), src.toString()));
        cmd.addAll(List.of(ldFlags));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), "gcc failed:\n" + log);
        return Files.readAllBytes(out);
    }
}
