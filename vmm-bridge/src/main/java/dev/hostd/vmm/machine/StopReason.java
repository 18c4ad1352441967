package dev.hostd.vmm.machine;

/** Why a {@link LinuxVm} stopped when it stopped without a failure. */
public enum StopReason {
    /** The owner closed it. */
    CLOSED,
    /** The guest asked for a reset: 0xFE to the i8042 command port (Linux's {@code reboot=kbd} path). */
    REBOOT,
    /** The guest entered ACPI S5 through the hardware-reduced sleep control register (Linux's {@code poweroff}). */
    POWER_OFF,
    /** A vCPU triple-faulted (KVM_EXIT_SHUTDOWN); a reset on a PC, and Linux's last-resort reboot method. */
    TRIPLE_FAULT
}
