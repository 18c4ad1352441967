package dev.hostd.vmm.loader.linux;

import static dev.hostd.vmm.loader.linux.ZeroPage.*;

import dev.hostd.vmm.VmmException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Builds the zero page (struct boot_params) for the 64-bit boot protocol: the image's setup header
 * copied in as boot.rst asks, then what a boot loader fills in: loader type, load flags, command
 * line, initrd, e820 map and the ACPI RSDP address. The VMM writes the result into guest memory and
 * points RSI at it on entry to startup_64.
 */
public final class BootParams {
    /** End of the real-mode heap relative to the setup code (boot.rst: 0xfe00 for a 0x10000-byte setup area). */
    static final int HEAP_END = 0xFE00;

    /**
     * What the boot loader tells the kernel.
     *
     * @param cmdLineAddress  guest-physical address of the NUL-terminated command line (see {@link #commandLine})
     * @param cmdLineLength   its length without the NUL; checked against the kernel's cmdline_size
     * @param initrdAddress   guest-physical address of the initrd, 0 for none
     * @param initrdSize      its size in bytes, 0 for none
     * @param acpiRsdpAddress guest-physical address of the ACPI RSDP, 0 to let the kernel search for it
     */
    public record Settings(E820Map e820, long cmdLineAddress, long cmdLineLength, long initrdAddress, long initrdSize,
                           long acpiRsdpAddress) {}

    private BootParams() {}

    /** The command line as the kernel reads it: ASCII, NUL-terminated. */
    public static byte[] commandLine(String text) {
        if (!StandardCharsets.US_ASCII.newEncoder().canEncode(text) || text.indexOf('\0') >= 0) {
            throw invalid("the kernel command line must be ASCII without NUL characters");
        }
        byte[] ascii = text.getBytes(StandardCharsets.US_ASCII);
        byte[] terminated = new byte[ascii.length + 1];
        System.arraycopy(ascii, 0, terminated, 0, ascii.length);
        return terminated;
    }

    public static byte[] build(BzImage kernel, Settings s) {
        byte[] page = new byte[SIZE];
        ByteBuffer b = ByteBuffer.wrap(page).order(ByteOrder.LITTLE_ENDIAN);
        System.arraycopy(kernel.setupHeader(), 0, page, HDR.offset(), Math.min(kernel.setupHeader().length, HDR.size()));

        b.put(TYPE_OF_LOADER.offset(), (byte) LOADER_UNDEFINED);
        b.put(LOADFLAGS.offset(), (byte) ((kernel.loadflags() | CAN_USE_HEAP) & ~KEEP_SEGMENTS));
        b.putShort(HEAP_END_PTR.offset(), (short) HEAP_END);

        if (s.cmdLineAddress() <= 0 || s.cmdLineLength() < 0) {
            throw invalid("cmd_line_ptr: command line at 0x" + Long.toHexString(s.cmdLineAddress()) + " of " + s.cmdLineLength()
                    + " bytes: give a positive guest address and a length");
        }
        if (s.cmdLineLength() > kernel.cmdlineSize()) {
            throw invalid("the command line is " + s.cmdLineLength() + " bytes, the kernel takes at most "
                    + kernel.cmdlineSize() + " (cmdline_size)");
        }
        putSplit(b, CMD_LINE_PTR, EXT_CMD_LINE_PTR, s.cmdLineAddress());

        if ((s.initrdSize() == 0) != (s.initrdAddress() == 0)) {
            throw invalid("ramdisk_image/ramdisk_size: initrd address 0x" + Long.toHexString(s.initrdAddress()) + " and size "
                    + s.initrdSize() + ": give both or neither");
        }
        if (s.initrdSize() != 0) {
            long last = s.initrdAddress() + s.initrdSize() - 1;
            boolean above4g = (kernel.xloadflags() & XLF_CAN_BE_LOADED_ABOVE_4G) != 0;
            if (s.initrdAddress() < 0 || (last > kernel.initrdAddrMax() && !above4g)) {
                throw invalid("the initrd at [0x" + Long.toHexString(s.initrdAddress()) + ", 0x" + Long.toHexString(last + 1)
                        + ") ends above initrd_addr_max 0x" + Long.toHexString(kernel.initrdAddrMax()));
            }
            putSplit(b, RAMDISK_IMAGE, EXT_RAMDISK_IMAGE, s.initrdAddress());
            putSplit(b, RAMDISK_SIZE, EXT_RAMDISK_SIZE, s.initrdSize());
        }

        if (s.acpiRsdpAddress() != 0 && kernel.protocolVersion() < 0x020E) {
            throw invalid("boot protocol " + BzImage.versionText(kernel.protocolVersion())
                    + " has no acpi_rsdp_addr (needs 2.14)");
        }
        b.putLong(ACPI_RSDP_ADDR.offset(), s.acpiRsdpAddress());

        b.put(E820_ENTRIES.offset(), (byte) s.e820().entries().size());
        int at = E820_TABLE.offset();
        for (E820Map.Entry e : s.e820().entries()) {
            b.putLong(at, e.address()).putLong(at + 8, e.size()).putInt(at + 16, e.type());
            at += E820_ENTRY_SIZE;
        }
        return page;
    }

    /** A 64-bit value in a u32 header field plus its ext_* high half. */
    private static void putSplit(ByteBuffer b, Field low, Field high, long value) {
        b.putInt(low.offset(), (int) value);
        b.putInt(high.offset(), (int) (value >>> 32));
    }

    private static VmmException invalid(String message) {
        return new VmmException(VmmException.Kind.INVALID_INPUT, "build boot params", message);
    }
}
