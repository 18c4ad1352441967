/**
 * ACPI tables for Linux guests (RSDP, XSDT, FADT, MADT, DSDT), built as bytes to place in guest
 * memory, with the small AML encoder the DSDT needs. Nothing here touches a VM: a loader copies
 * {@link dev.hostd.vmm.acpi.AcpiLayout#image()} to {@link dev.hostd.vmm.acpi.AcpiLayout#rsdpAddress()}.
 */
package dev.hostd.vmm.acpi;
