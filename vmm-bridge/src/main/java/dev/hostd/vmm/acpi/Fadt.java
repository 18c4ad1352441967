package dev.hostd.vmm.acpi;

/**
 * Fixed ACPI Description Table ("FACP"), revision 6.5, for a hardware-reduced platform (ACPI 6.5
 * §5.2.9, §4.1): no PM1/PM2/GPE register blocks, no SCI, no FACS; only the flag saying so, the
 * boot-architecture flags, the DSDT address, and the sleep control/status registers (§4.8.3.7) as
 * one-byte I/O ports, through which the guest powers off (S5, see the DSDT's {@code \_S5}). Linux
 * then takes ACPI events from nothing and needs no other ACPI hardware to be emulated.
 */
final class Fadt {
    static final int SIZE = 276;
    static final int REVISION = 6, MINOR_REVISION = 5;
    static final int DSDT_OFFSET = 40, IAPC_BOOT_ARCH_OFFSET = 109, FLAGS_OFFSET = 112,
            MINOR_VERSION_OFFSET = 131, X_DSDT_OFFSET = 140, SLEEP_CONTROL_OFFSET = 244, SLEEP_STATUS_OFFSET = 256;
    /** Generic Address Structure (§5.2.3.2) fields for a byte-wide I/O port. */
    static final int GAS_SYSTEM_IO = 1, GAS_BYTE_ACCESS = 1;
    /** Flags bit 20: HW_REDUCED_ACPI. */
    static final int HW_REDUCED_ACPI = 1 << 20;
    /** IAPC_BOOT_ARCH: no VGA (bit 2), no MSI (bit 3, there is no PCI), no CMOS RTC (bit 5); bit 1 clear = no 8042. */
    static final int IAPC_BOOT_ARCH = (1 << 2) | (1 << 3) | (1 << 5);

    private Fadt() {}

    static byte[] build(long dsdtAddress) {
        ByteWriter body = new ByteWriter()
                .u32(0) // 36 FIRMWARE_CTRL: no FACS in hardware-reduced mode
                .u32(dsdtAddress <= 0xFFFF_FFFFL ? dsdtAddress : 0) // 40 DSDT (32-bit; X_DSDT wins)
                .u8(0) // 44 reserved
                .u8(0) // 45 Preferred_PM_Profile: unspecified
                .u16(0) // 46 SCI_INT: none
                .u32(0) // 48 SMI_CMD: no SMM, ACPI always enabled
                .zeros(4) // 52 ACPI_ENABLE, ACPI_DISABLE, S4BIOS_REQ, PSTATE_CNT
                .zeros(4 * 8) // 56 PM1a/b EVT, PM1a/b CNT, PM2 CNT, PM TMR, GPE0, GPE1 blocks
                .zeros(8) // 88 the block lengths, GPE1_BASE, CST_CNT
                .u16(0).u16(0) // 96 P_LVL2_LAT, P_LVL3_LAT
                .u16(0).u16(0) // 100 FLUSH_SIZE, FLUSH_STRIDE
                .zeros(5) // 104 DUTY_OFFSET, DUTY_WIDTH, DAY_ALRM, MON_ALRM, CENTURY
                .u16(IAPC_BOOT_ARCH) // 109
                .u8(0) // 111 reserved
                .u32(HW_REDUCED_ACPI) // 112 Flags
                .zeros(12) // 116 RESET_REG: none
                .u8(0) // 128 RESET_VALUE
                .u16(0) // 129 ARM_BOOT_ARCH
                .u8(MINOR_REVISION) // 131
                .u64(0) // 132 X_FIRMWARE_CTRL
                .u64(dsdtAddress) // 140 X_DSDT
                .zeros(8 * 12) // 148 X_PM1a_EVT .. X_GPE1 blocks: none
                .bytes(ioPort(AcpiTables.SLEEP_CONTROL_PORT)) // 244 SLEEP_CONTROL_REG
                .bytes(ioPort(AcpiTables.SLEEP_STATUS_PORT)) // 256 SLEEP_STATUS_REG
                .ascii("HOSTD", 8); // 268 Hypervisor Vendor Identity
        return Sdt.table("FACP", REVISION, body.toByteArray());
    }

    /** A GAS naming one 8-bit I/O port, accessed a byte at a time. */
    static byte[] ioPort(int port) {
        return new ByteWriter().u8(GAS_SYSTEM_IO).u8(8).u8(0).u8(GAS_BYTE_ACCESS).u64(port).toByteArray();
    }
}
