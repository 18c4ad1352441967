package dev.hostd.vmm.snapshot;

/**
 * Record tags: four ASCII characters stored as a little-endian u32, so that a hex dump shows them.
 * Top-level sections and the records nested in VM and VCPU sections share one namespace.
 */
final class Tags {
    /** Section/record flag: a reader that does not know the tag must refuse the file. */
    static final int FLAG_REQUIRED = 1;

    static final int MACHINE = fourcc("MACH");
    static final int MEMORY = fourcc("MEMF");
    static final int VM = fourcc("VM  ");
    static final int VCPU = fourcc("VCPU");
    static final int DEVICE = fourcc("DEVC");
    static final int METADATA = fourcc("META");

    static final int CLOCK = fourcc("CLCK");
    static final int PIC_MASTER = fourcc("PICM");
    static final int PIC_SLAVE = fourcc("PICS");
    static final int IOAPIC = fourcc("IOAP");
    static final int PIT2 = fourcc("PIT2");

    static final int CPUID = fourcc("CPID");
    static final int REGS = fourcc("REGS");
    static final int SREGS = fourcc("SREG");
    static final int XSAVE = fourcc("XSAV");
    static final int XCRS = fourcc("XCRS");
    static final int DEBUGREGS = fourcc("DBGR");
    static final int LAPIC = fourcc("LAPC");
    static final int MSRS = fourcc("MSRS");
    static final int EVENTS = fourcc("EVNT");

    private Tags() {}

    static int fourcc(String chars) {
        if (chars.length() != 4) {
            throw new IllegalArgumentException("a tag is four characters: " + chars);
        }
        return chars.charAt(0) | chars.charAt(1) << 8 | chars.charAt(2) << 16 | chars.charAt(3) << 24;
    }

    /** The name {@link SectionInfo} gives a top-level section. */
    static String sectionName(int tag) {
        if (tag == MACHINE) return "MACHINE";
        if (tag == MEMORY) return "MEMORY";
        if (tag == VM) return "VM";
        if (tag == VCPU) return "VCPU";
        if (tag == DEVICE) return "DEVICE";
        if (tag == METADATA) return "METADATA";
        return describe(tag);
    }

    /** The tag's four characters in quotes when they are printable ASCII, else its hex value. */
    static String describe(int tag) {
        StringBuilder sb = new StringBuilder(6).append('\'');
        for (int i = 0; i < 4; i++) {
            int c = (tag >>> (8 * i)) & 0xff;
            if (c < 0x20 || c > 0x7e) {
                return String.format("0x%08x", tag);
            }
            sb.append((char) c);
        }
        return sb.append('\'').toString();
    }
}
