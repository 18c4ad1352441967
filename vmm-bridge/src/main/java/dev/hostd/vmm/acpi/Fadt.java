package dev.hostd.vmm.acpi;

/**
 * Fixed ACPI Description Table ("FACP"), revision 6.5, for a hardware-reduced platform (ACPI 6.5
 * §5.2.9, §4.1): no PM1/PM2/GPE register blocks, no SCI, no FACS; only the flag saying so, the
 * boot-architecture flags, and the DSDT address. Linux then takes ACPI events from nothing and
 * needs no ACPI hardware to be emulated.
 */
final class Fadt {
    static final int SIZE = 276;
    static final int REVISION = 6, MINOR_REVISION = 5;
    static final int DSDT_OFFSET = 40, IAPC_BOOT_ARCH_OFFSET = 109, FLAGS_OFFSET = 112,
            MINOR_VERSION_OFFSET = 131, X_DSDT_OFFSET = 140;
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
                .zeros(2 * 12) // 244 SLEEP_CONTROL_REG, SLEEP_STATUS_REG: no sleep states
                .ascii("HOSTD", 8); // 268 Hypervisor Vendor Identity
        return Sdt.table("FACP", REVISION, body.toByteArray());
    }
}
