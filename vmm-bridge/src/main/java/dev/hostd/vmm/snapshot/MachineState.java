package dev.hostd.vmm.snapshot;

import java.util.Objects;

/**
 * The shape of the machine: what a restore must create before any state can be loaded into it.
 *
 * @param vcpuCount   number of vCPUs, indexed 0..vcpuCount-1
 * @param memoryBytes size of guest RAM, equal to the size of the memory file
 * @param irqchip     whether the VM has the in-kernel irqchip (PICs, IOAPIC, PIT, LAPICs)
 * @param guestKind   what boots in it, e.g. {@code "user-elf"}
 */
public record MachineState(int vcpuCount, long memoryBytes, boolean irqchip, String guestKind) {
    public MachineState {
        Objects.requireNonNull(guestKind, "guestKind");
    }
}
