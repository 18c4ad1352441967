package dev.hostd.vmm.loader.linux;

import dev.hostd.vmm.VmmException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.OptionalLong;

/**
 * Finds the PVH entry of a vmlinux ELF: the XEN_ELFNOTE_PHYS32_ENTRY note (owner "Xen", type 18)
 * that a kernel built with CONFIG_PVH carries. It holds the 32-bit physical address of
 * pvh_start_xen, which a VMM enters in 32-bit protected mode with paging off, skipping the
 * bzImage's decompressor (the faster path on this PVM host, see host-facts.md).
 */
public final class PvhNote {
    public static final int XEN_ELFNOTE_PHYS32_ENTRY = 18;
    private static final int EHDR_SIZE = 64, PHDR_SIZE = 56, PT_NOTE = 4, MAX_SEGMENTS = 4096;

    private PvhNote() {}

    /** The PVH entry address, or empty when the ELF has no such note. */
    public static OptionalLong find(byte[] file) {
        if (file.length < EHDR_SIZE || file[0] != 0x7F || file[1] != 'E' || file[2] != 'L' || file[3] != 'F') {
            throw invalid("not an ELF file (no \\x7fELF magic in the first bytes)");
        }
        if (file[4] != 2 || file[5] != 1) {
            throw invalid("not a 64-bit little-endian ELF (class " + file[4] + ", data " + file[5] + ")");
        }
        ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        long phoff = b.getLong(32);
        int phentsize = Short.toUnsignedInt(b.getShort(54));
        int phnum = Short.toUnsignedInt(b.getShort(56));
        if (phnum > 0 && (phentsize != PHDR_SIZE || phnum > MAX_SEGMENTS)) {
            throw invalid("program header table has " + phnum + " entries of " + phentsize + " bytes");
        }
        if (phoff < 0 || phoff > file.length - (long) phnum * PHDR_SIZE) {
            throw invalid("program header table at offset " + phoff + " runs past the end of the " + file.length + "-byte file");
        }
        for (int i = 0; i < phnum; i++) {
            int at = (int) phoff + i * PHDR_SIZE;
            if (b.getInt(at) != PT_NOTE) {
                continue;
            }
            long offset = b.getLong(at + 8), size = b.getLong(at + 32);
            if (offset < 0 || size < 0 || offset > file.length - size) {
                throw invalid("note segment " + i + " at [" + offset + ", +" + size + ") runs past the end of the file");
            }
            OptionalLong entry = scan(b, (int) offset, (int) (offset + size), i);
            if (entry.isPresent()) {
                return entry;
            }
        }
        return OptionalLong.empty();
    }

    /** Walks the notes of one segment: namesz, descsz, type, then name and desc, each padded to 4 bytes. */
    private static OptionalLong scan(ByteBuffer b, int at, int end, int segment) {
        while (end - at >= 12) {
            long namesz = Integer.toUnsignedLong(b.getInt(at));
            long descsz = Integer.toUnsignedLong(b.getInt(at + 4));
            int type = b.getInt(at + 8);
            long name = at + 12L, desc = name + align4(namesz), next = desc + align4(descsz);
            if (next > end) {
                throw invalid("a note in segment " + segment + " (name " + namesz + " bytes, desc " + descsz
                        + " bytes) runs past the segment's end");
            }
            if (type == XEN_ELFNOTE_PHYS32_ENTRY && namesz == 4 && isXen(b, (int) name)) {
                return switch ((int) descsz) {
                    case 4 -> OptionalLong.of(Integer.toUnsignedLong(b.getInt((int) desc)));
                    case 8 -> OptionalLong.of(b.getLong((int) desc));
                    default -> throw invalid("the PVH entry note has a " + descsz + "-byte value, not 4 or 8");
                };
            }
            at = (int) next;
        }
        return OptionalLong.empty();
    }

    private static boolean isXen(ByteBuffer b, int at) {
        byte[] name = new byte[4];
        b.get(at, name);
        return new String(name, StandardCharsets.US_ASCII).equals("Xen\0");
    }

    private static long align4(long n) {
        return (n + 3) & ~3L;
    }

    private static VmmException invalid(String message) {
        return new VmmException(VmmException.Kind.INVALID_INPUT, "find PVH entry", "invalid vmlinux ELF: " + message);
    }
}
