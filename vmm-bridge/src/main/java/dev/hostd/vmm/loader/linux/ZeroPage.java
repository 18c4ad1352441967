package dev.hostd.vmm.loader.linux;

/**
 * The binary layout of the x86 boot protocol's {@code struct boot_params} (the "zero page",
 * {@code <asm/bootparam.h>}) for the fields hostd reads or writes. The setup header sits at the same
 * offsets in a bzImage file as in the zero page, so the loader reads the image with these too.
 * Constants are named exactly as the C macros; ZeroPageHeaderTest compiles a C program against the
 * real header and checks every offset, size and value here.
 */
public final class ZeroPage {
    /** One field: its C member path in struct boot_params, byte offset and size. */
    public record Field(String path, int offset, int size) {}

    public static final int SIZE = 4096;

    public static final Field ACPI_RSDP_ADDR = new Field("acpi_rsdp_addr", 0x070, 8);
    public static final Field EXT_RAMDISK_IMAGE = new Field("ext_ramdisk_image", 0x0c0, 4);
    public static final Field EXT_RAMDISK_SIZE = new Field("ext_ramdisk_size", 0x0c4, 4);
    public static final Field EXT_CMD_LINE_PTR = new Field("ext_cmd_line_ptr", 0x0c8, 4);
    public static final Field E820_ENTRIES = new Field("e820_entries", 0x1e8, 1);
    public static final Field HDR = new Field("hdr", 0x1f1, 0x7b);
    public static final Field SETUP_SECTS = new Field("hdr.setup_sects", 0x1f1, 1);
    public static final Field SYSSIZE = new Field("hdr.syssize", 0x1f4, 4);
    public static final Field BOOT_FLAG = new Field("hdr.boot_flag", 0x1fe, 2);
    /** The second byte of the 2-byte jump at 0x200: the setup header ends at 0x202 + this byte. */
    public static final Field JUMP = new Field("hdr.jump", 0x200, 2);
    public static final Field HEADER = new Field("hdr.header", 0x202, 4);
    public static final Field VERSION = new Field("hdr.version", 0x206, 2);
    public static final Field TYPE_OF_LOADER = new Field("hdr.type_of_loader", 0x210, 1);
    public static final Field LOADFLAGS = new Field("hdr.loadflags", 0x211, 1);
    public static final Field CODE32_START = new Field("hdr.code32_start", 0x214, 4);
    public static final Field RAMDISK_IMAGE = new Field("hdr.ramdisk_image", 0x218, 4);
    public static final Field RAMDISK_SIZE = new Field("hdr.ramdisk_size", 0x21c, 4);
    public static final Field HEAP_END_PTR = new Field("hdr.heap_end_ptr", 0x224, 2);
    public static final Field CMD_LINE_PTR = new Field("hdr.cmd_line_ptr", 0x228, 4);
    public static final Field INITRD_ADDR_MAX = new Field("hdr.initrd_addr_max", 0x22c, 4);
    public static final Field KERNEL_ALIGNMENT = new Field("hdr.kernel_alignment", 0x230, 4);
    public static final Field RELOCATABLE_KERNEL = new Field("hdr.relocatable_kernel", 0x234, 1);
    public static final Field XLOADFLAGS = new Field("hdr.xloadflags", 0x236, 2);
    public static final Field CMDLINE_SIZE = new Field("hdr.cmdline_size", 0x238, 4);
    public static final Field PAYLOAD_OFFSET = new Field("hdr.payload_offset", 0x248, 4);
    public static final Field PAYLOAD_LENGTH = new Field("hdr.payload_length", 0x24c, 4);
    public static final Field PREF_ADDRESS = new Field("hdr.pref_address", 0x258, 8);
    public static final Field INIT_SIZE = new Field("hdr.init_size", 0x260, 4);
    public static final Field E820_TABLE = new Field("e820_table", 0x2d0, 128 * 20);

    /** sizeof(struct boot_e820_entry): u64 addr, u64 size, u32 type, packed. */
    public static final int E820_ENTRY_SIZE = 20;
    public static final int E820_MAX_ENTRIES_ZEROPAGE = 128;

    public static final int LOADED_HIGH = 1 << 0;
    public static final int KEEP_SEGMENTS = 1 << 6;
    public static final int CAN_USE_HEAP = 1 << 7;
    public static final int XLF_KERNEL_64 = 1 << 0;
    public static final int XLF_CAN_BE_LOADED_ABOVE_4G = 1 << 1;

    public static final int E820_RAM = 1;
    public static final int E820_RESERVED = 2;
    public static final int E820_ACPI = 3;

    /** "HdrS" read as a little-endian u32. */
    public static final int HDRS_MAGIC = 0x5372_6448;
    public static final int BOOT_FLAG_MAGIC = 0xAA55;
    /** type_of_loader 0xFF: a boot loader without an assigned ID. */
    public static final int LOADER_UNDEFINED = 0xFF;

    private ZeroPage() {}
}
