package dev.hostd.vmm.loader.linux;

import static dev.hostd.vmm.loader.linux.ZeroPage.*;

import dev.hostd.vmm.VmmException;
import dev.hostd.vmm.memory.GuestMemory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A parsed, validated Linux x86 bzImage (boot protocol, Documentation/arch/x86/boot.rst), for the
 * 64-bit entry: hostd skips the real-mode setup code and the 16/32-bit entries, places the
 * protected-mode kernel itself and jumps to startup_64 (load address + 0x200) in long mode.
 * Every header field is checked before it is used; a bad image gives a message naming the field.
 *
 * @param setupHeader the setup header bytes (0x1f1 to its end), copied into the zero page as the protocol asks
 * @param kernelOffset where the protected-mode kernel starts in the file ((setup_sects + 1) * 512)
 * @param kernelSize its size in bytes (syssize * 16)
 */
public record BzImage(int protocolVersion, int setupSects, long kernelOffset, long kernelSize, int loadflags,
                      int xloadflags, boolean relocatable, long kernelAlignment, long prefAddress, long initSize,
                      long initrdAddrMax, long cmdlineSize, long payloadOffset, long payloadLength,
                      byte[] setupHeader) {
    /** 2.12 is the first protocol with xloadflags, which says whether the 64-bit entry exists. */
    public static final int MIN_PROTOCOL = 0x020C;
    /** startup_64 is this far into the protected-mode kernel (boot.rst, "64-bit boot protocol"). */
    public static final long STARTUP_64_OFFSET = 0x200;
    private static final long ONE_MIB = 1L << 20;

    public static BzImage parse(byte[] file) {
        if (file.length < VERSION.offset() + 2) {
            throw invalid("the file is " + file.length + " bytes, too short to hold a setup header (truncated image)");
        }
        ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        if (b.getInt(HEADER.offset()) != HDRS_MAGIC) {
            throw invalid("no \"HdrS\" magic at offset 0x202: not a Linux bzImage (a vmlinux ELF needs the PVH loader)");
        }
        int version = u16(b, VERSION);
        if (version < MIN_PROTOCOL) {
            throw invalid("boot protocol " + versionText(version) + " is older than " + versionText(MIN_PROTOCOL)
                    + ", the first with the 64-bit entry (xloadflags)");
        }
        int headerEnd = 0x202 + Byte.toUnsignedInt(file[JUMP.offset() + 1]);
        if (headerEnd < INIT_SIZE.offset() + 4 || file.length < headerEnd) {
            throw invalid("setup header ends at 0x" + Integer.toHexString(headerEnd) + " but the file is "
                    + file.length + " bytes (truncated image)");
        }
        if (u16(b, BOOT_FLAG) != BOOT_FLAG_MAGIC) {
            throw invalid("boot_flag is 0x" + Integer.toHexString(u16(b, BOOT_FLAG)) + ", not 0xaa55");
        }
        int setupSects = u8(b, SETUP_SECTS) == 0 ? 4 : u8(b, SETUP_SECTS); // 0 means 4, for old images
        long kernelOffset = (setupSects + 1L) * 512;
        long kernelSize = u32(b, SYSSIZE) * 16;
        if (kernelSize == 0) {
            throw invalid("syssize is 0: the image has no protected-mode kernel");
        }
        if (kernelOffset + kernelSize > file.length) {
            throw invalid("setup_sects " + setupSects + " and syssize 0x" + Long.toHexString(u32(b, SYSSIZE))
                    + " put the kernel at [" + kernelOffset + ", " + (kernelOffset + kernelSize) + ") but the file is "
                    + file.length + " bytes (truncated image)");
        }
        int loadflags = u8(b, LOADFLAGS);
        if ((loadflags & LOADED_HIGH) == 0) {
            throw invalid("loadflags lacks LOADED_HIGH: a zImage loaded at 0x10000, not a bzImage");
        }
        int xloadflags = u16(b, XLOADFLAGS);
        if ((xloadflags & XLF_KERNEL_64) == 0) {
            throw invalid("xloadflags 0x" + Integer.toHexString(xloadflags)
                    + " lacks XLF_KERNEL_64: the kernel has no 64-bit entry (a 32-bit kernel?)");
        }
        long alignment = u32(b, KERNEL_ALIGNMENT);
        if (alignment == 0 || Long.bitCount(alignment) != 1) {
            throw invalid("kernel_alignment 0x" + Long.toHexString(alignment) + " is not a power of two");
        }
        long prefAddress = b.getLong(PREF_ADDRESS.offset());
        if (prefAddress < ONE_MIB || prefAddress % alignment != 0) {
            throw invalid("pref_address 0x" + Long.toHexString(prefAddress)
                    + " is below 1 MiB or not aligned to kernel_alignment 0x" + Long.toHexString(alignment));
        }
        long initSize = u32(b, INIT_SIZE);
        if (initSize < kernelSize) {
            throw invalid("init_size 0x" + Long.toHexString(initSize) + " is smaller than the kernel (0x"
                    + Long.toHexString(kernelSize) + " bytes)");
        }
        long payloadOffset = u32(b, PAYLOAD_OFFSET);
        long payloadLength = u32(b, PAYLOAD_LENGTH);
        if (payloadLength == 0 || payloadOffset + payloadLength > kernelSize) {
            throw invalid("payload_offset 0x" + Long.toHexString(payloadOffset) + " + payload_length 0x"
                    + Long.toHexString(payloadLength) + " do not fit the 0x" + Long.toHexString(kernelSize)
                    + "-byte kernel");
        }
        return new BzImage(version, setupSects, kernelOffset, kernelSize, loadflags, xloadflags,
                u8(b, RELOCATABLE_KERNEL) != 0, alignment, prefAddress, initSize, u32(b, INITRD_ADDR_MAX),
                u32(b, CMDLINE_SIZE), payloadOffset, payloadLength,
                Arrays.copyOfRange(file, HDR.offset(), headerEnd));
    }

    /**
     * Where the protected-mode kernel goes in a guest whose RAM is contiguous from 0 to
     * {@code ramTop} (the RAM below the MMIO hole, so inside the 64-bit entry's 4 GiB identity
     * map): pref_address, where the
     * kernel runs without relocating itself. startup_64 decompresses in place, from the load
     * address rounded up to kernel_alignment but never below the kernel's LOAD_PHYSICAL_ADDR
     * (which is what pref_address holds), and needs init_size bytes from there. So a relocatable
     * kernel loaded lower would still need RAM up to pref_address + init_size, and higher needs
     * more: with RAM contiguous from 1 MiB there is no better place to fall back to.
     */
    public long loadAddress(long ramTop) {
        if (prefAddress + initSize > ramTop) {
            throw invalid("pref_address 0x" + Long.toHexString(prefAddress) + " + init_size 0x" + Long.toHexString(initSize)
                    + " (the room the kernel decompresses into) ends past RAM at 0x" + Long.toHexString(ramTop)
                    + ": give the guest at least " + ((prefAddress + initSize + ONE_MIB - 1) / ONE_MIB) + " MiB");
        }
        return prefAddress;
    }

    /** The first address past the room the kernel needs when loaded at {@code loadAddress}. */
    public long end(long loadAddress) {
        return loadAddress + Math.max(initSize, kernelSize);
    }

    /**
     * Copies the protected-mode kernel of {@code file} (the image parsed) to {@link #loadAddress}
     * in {@code memory}, whose first {@code ramTop} bytes are usable RAM; returns that address.
     */
    public long load(GuestMemory memory, byte[] file, long ramTop) {
        long address = loadAddress(Math.min(ramTop, memory.size()));
        memory.write(address, file, (int) kernelOffset, (int) kernelSize);
        return address;
    }

    /** A copy: the record must not let callers change the header it validated. */
    @Override
    public byte[] setupHeader() {
        return setupHeader.clone();
    }

    /** The 64-bit entry point (startup_64) when the kernel is loaded at {@code loadAddress}. */
    public long entry64(long loadAddress) {
        return loadAddress + STARTUP_64_OFFSET;
    }

    /** The protected-mode kernel's bytes, to copy to the load address. */
    public byte[] kernel(byte[] file) {
        return Arrays.copyOfRange(file, (int) kernelOffset, (int) (kernelOffset + kernelSize));
    }

    /** The compressed payload's first bytes, as an offset into the file (payload_offset is relative to the kernel). */
    public long payloadFileOffset() {
        return kernelOffset + payloadOffset;
    }

    /** "2.15" for 0x020f. */
    public static String versionText(int version) {
        return (version >> 8) + "." + (version & 0xFF);
    }

    static VmmException invalid(String message) {
        return new VmmException(VmmException.Kind.INVALID_INPUT, "load bzImage", "invalid bzImage: " + message);
    }

    private static int u8(ByteBuffer b, Field f) {
        return Byte.toUnsignedInt(b.get(f.offset()));
    }

    private static int u16(ByteBuffer b, Field f) {
        return Short.toUnsignedInt(b.getShort(f.offset()));
    }

    private static long u32(ByteBuffer b, Field f) {
        return Integer.toUnsignedLong(b.getInt(f.offset()));
    }
}
