package dev.hostd.vmm.acpi;

/**
 * Multiple APIC Description Table ("APIC", ACPI 6.5 §5.2.12): one enabled local APIC per vCPU
 * (APIC ID = processor UID = vCPU index, as KVM numbers them), the in-kernel IOAPIC at its usual
 * address with GSIs 0-23, ISA IRQ 0 routed to GSI 2 where KVM's PIT is wired, and LINT1 as NMI.
 */
final class Madt {
    static final int REVISION = 5;
    static final long LOCAL_APIC_ADDRESS = 0xFEE0_0000L;
    static final long IOAPIC_ADDRESS = 0xFEC0_0000L;
    static final int IOAPIC_ID = 0; // KVM's IOAPIC id register resets to 0
    /** Local APIC entries use 8-bit APIC IDs and 0xFF means "all": at most 255 vCPUs without x2APIC entries. */
    static final int MAX_VCPUS = 255;
    static final int PCAT_COMPAT = 1; // KVM's in-kernel irqchip also has the 8259 pair; Linux masks them
    static final int TYPE_LOCAL_APIC = 0, TYPE_IOAPIC = 1, TYPE_INTERRUPT_OVERRIDE = 2, TYPE_LOCAL_APIC_NMI = 4;

    private Madt() {}

    static byte[] build(int vcpus) {
        ByteWriter body = new ByteWriter().u32(LOCAL_APIC_ADDRESS).u32(PCAT_COMPAT);
        for (int i = 0; i < vcpus; i++) {
            body.u8(TYPE_LOCAL_APIC).u8(8).u8(i).u8(i).u32(1 /* enabled */);
        }
        body.u8(TYPE_IOAPIC).u8(12).u8(IOAPIC_ID).u8(0).u32(IOAPIC_ADDRESS).u32(0 /* GSI base */);
        // bus 0 (ISA), source IRQ 0, GSI 2, flags 0 = conforming polarity and trigger (edge, high)
        body.u8(TYPE_INTERRUPT_OVERRIDE).u8(10).u8(0).u8(0).u32(2).u16(0);
        // all processors (UID 0xFF), flags 0 = conforming, LINT1
        body.u8(TYPE_LOCAL_APIC_NMI).u8(6).u8(0xFF).u16(0).u8(1);
        return Sdt.table("APIC", REVISION, body.toByteArray());
    }
}
