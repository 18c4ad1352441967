package dev.hostd.vmm.loader;

import dev.hostd.vmm.VmmException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * A parsed, validated static x86-64 ELF64 executable. Every field read from the file is checked
 * before it is used, so a file that is not a guest image gives a message saying why.
 */
public record ElfImage(long entry, List<Segment> segments) {
    /** A PT_LOAD segment: {@code fileSize} bytes from {@code fileOffset} at {@code address}, zero-filled to {@code memorySize}. */
    public record Segment(long address, long fileOffset, long fileSize, long memorySize) {
        long end() {
            return address + memorySize;
        }
    }

    private static final int EHDR_SIZE = 64, PHDR_SIZE = 56, MAX_SEGMENTS = 64;
    private static final int ET_EXEC = 2, EM_X86_64 = 62, PT_LOAD = 1;

    public static ElfImage parse(byte[] file) {
        if (file.length < EHDR_SIZE || file[0] != 0x7F || file[1] != 'E' || file[2] != 'L' || file[3] != 'F') {
            throw invalid("not an ELF file (no \\x7fELF magic in the first bytes)");
        }
        if (file[4] != 2 || file[5] != 1) {
            throw invalid("not a 64-bit little-endian ELF (class " + file[4] + ", data " + file[5] + ")");
        }
        ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        int type = Short.toUnsignedInt(b.getShort(16));
        int machine = Short.toUnsignedInt(b.getShort(18));
        if (type != ET_EXEC) {
            throw invalid("ELF type " + type + " is not ET_EXEC: link the guest statically at a fixed address (-static -no-pie)");
        }
        if (machine != EM_X86_64) {
            throw invalid("ELF machine " + machine + " is not x86-64 (62)");
        }
        long entry = b.getLong(24);
        long phoff = b.getLong(32);
        int phentsize = Short.toUnsignedInt(b.getShort(54));
        int phnum = Short.toUnsignedInt(b.getShort(56));
        if (phentsize != PHDR_SIZE || phnum == 0 || phnum > MAX_SEGMENTS) {
            throw invalid("program header table has " + phnum + " entries of " + phentsize + " bytes");
        }
        if (phoff < EHDR_SIZE || phoff > file.length - (long) phnum * PHDR_SIZE) {
            throw invalid("program header table at offset " + phoff + " runs past the end of the " + file.length + "-byte file");
        }
        List<Segment> segments = new ArrayList<>();
        for (int i = 0; i < phnum; i++) {
            int at = (int) phoff + i * PHDR_SIZE;
            if (b.getInt(at) != PT_LOAD) {
                continue;
            }
            Segment s = new Segment(b.getLong(at + 16), b.getLong(at + 8), b.getLong(at + 32), b.getLong(at + 40));
            if (s.fileSize() < 0 || s.memorySize() < s.fileSize() || s.fileOffset() < 0
                    || s.fileOffset() > file.length - s.fileSize()) {
                throw invalid("segment " + i + " has file range [" + s.fileOffset() + ", +" + s.fileSize()
                        + ") and memory size " + s.memorySize() + " that do not fit the file");
            }
            if (s.address() < 0 || s.memorySize() > Long.MAX_VALUE - s.address()) {
                throw invalid("segment " + i + " address range overflows");
            }
            segments.add(s);
        }
        if (segments.isEmpty()) {
            throw invalid("no loadable (PT_LOAD) segment");
        }
        boolean entryInside = segments.stream().anyMatch(s -> entry >= s.address() && entry < s.end());
        if (!entryInside) {
            throw invalid(String.format("entry point %#x lies in no loadable segment", entry));
        }
        return new ElfImage(entry, List.copyOf(segments));
    }

    /** The first page-aligned address after every segment. */
    public long end() {
        long end = segments.stream().mapToLong(Segment::end).max().orElseThrow();
        return (end + 0xFFF) & ~0xFFFL;
    }

    static VmmException invalid(String why) {
        return new VmmException(VmmException.Kind.INVALID_INPUT, "load guest image", "guest image is not usable: " + why);
    }
}
