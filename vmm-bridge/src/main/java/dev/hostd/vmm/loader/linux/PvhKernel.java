package dev.hostd.vmm.loader.linux;

import dev.hostd.vmm.VmmException;
import dev.hostd.vmm.memory.GuestMemory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/**
 * A vmlinux ELF to be entered through PVH: its PT_LOAD segments go at their physical addresses
 * (p_paddr; the virtual ones are the kernel's high mapping) and the entry is the
 * XEN_ELFNOTE_PHYS32_ENTRY note, not e_entry. Every field is checked before it is used.
 *
 * @param pvhEntry  guest-physical address of pvh_start_xen, entered in 32-bit protected mode
 * @param segments  what to copy where
 */
public record PvhKernel(long pvhEntry, List<Segment> segments) {
    /** {@code fileSize} bytes from {@code fileOffset} at {@code physical}, zero-filled to {@code memorySize}. */
    public record Segment(long physical, long fileOffset, long fileSize, long memorySize) {
        public long end() {
            return physical + memorySize;
        }
    }

    private static final int EHDR_SIZE = 64, PHDR_SIZE = 56, MAX_SEGMENTS = 64, EM_X86_64 = 62, PT_LOAD = 1;
    /** Below 1 MiB live the VMM's boot structures and the ACPI tables; a kernel never loads there. */
    static final long MIN_ADDRESS = E820Map.HIGH_RAM_START;

    public PvhKernel {
        segments = List.copyOf(segments);
    }

    public static PvhKernel parse(byte[] elf) {
        OptionalLong entry = PvhNote.find(elf); // checks the magic, class and program header table
        if (entry.isEmpty()) {
            throw invalid("it has no XEN_ELFNOTE_PHYS32_ENTRY note: the kernel was built without CONFIG_PVH");
        }
        ByteBuffer b = ByteBuffer.wrap(elf).order(ByteOrder.LITTLE_ENDIAN);
        int machine = Short.toUnsignedInt(b.getShort(18));
        if (machine != EM_X86_64) {
            throw invalid("ELF machine " + machine + " is not x86-64 (62)");
        }
        long phoff = b.getLong(32);
        int phnum = Short.toUnsignedInt(b.getShort(56));
        if (phnum == 0 || phnum > MAX_SEGMENTS) {
            throw invalid("program header table has " + phnum + " entries, expected 1.." + MAX_SEGMENTS);
        }
        List<Segment> segments = new ArrayList<>();
        for (int i = 0; i < phnum; i++) {
            int at = (int) phoff + i * PHDR_SIZE;
            if (b.getInt(at) != PT_LOAD) {
                continue;
            }
            Segment s = new Segment(b.getLong(at + 24), b.getLong(at + 8), b.getLong(at + 32), b.getLong(at + 40));
            if (s.fileSize() < 0 || s.memorySize() < s.fileSize() || s.fileOffset() < 0 || s.fileOffset() > elf.length - s.fileSize()) {
                throw invalid("segment " + i + " has file range [" + s.fileOffset() + ", +" + s.fileSize()
                        + ") and memory size " + s.memorySize() + " that do not fit the " + elf.length + "-byte file");
            }
            if (s.physical() < MIN_ADDRESS || s.memorySize() > (1L << 40) || s.end() > 1L << 40) {
                throw invalid(String.format("segment %d at physical 0x%X (+0x%X) is not between 1 MiB and 1 TiB",
                        i, s.physical(), s.memorySize()));
            }
            for (Segment o : segments) {
                if (s.physical() < o.end() && o.physical() < s.end()) {
                    throw invalid(String.format("segment %d at physical 0x%X overlaps another at 0x%X", i, s.physical(), o.physical()));
                }
            }
            segments.add(s);
        }
        if (segments.isEmpty()) {
            throw invalid("no loadable (PT_LOAD) segment");
        }
        long pvh = entry.getAsLong();
        if (segments.stream().noneMatch(s -> pvh >= s.physical() && pvh < s.physical() + s.fileSize())) {
            throw invalid(String.format("PVH entry 0x%X lies in no loaded segment", pvh));
        }
        return new PvhKernel(pvh, segments);
    }

    /** The first address past every segment. */
    public long end() {
        return segments.stream().mapToLong(Segment::end).max().orElseThrow();
    }

    /** Copies the segments into {@code memory} (zeroing each one's tail); {@code elf} is the file parsed. */
    public void load(GuestMemory memory, byte[] elf) {
        if (end() > memory.size()) {
            throw invalid(String.format("the kernel needs RAM up to 0x%X but the guest has 0x%X bytes: give it at least %d MiB",
                    end(), memory.size(), (end() + (1 << 20) - 1) >> 20));
        }
        for (Segment s : segments) {
            memory.write(s.physical(), elf, (int) s.fileOffset(), (int) s.fileSize());
            memory.slice(s.physical() + s.fileSize(), s.memorySize() - s.fileSize()).fill((byte) 0);
        }
    }

    private static VmmException invalid(String message) {
        return new VmmException(VmmException.Kind.INVALID_INPUT, "load vmlinux", "vmlinux cannot be booted through PVH: " + message);
    }
}
