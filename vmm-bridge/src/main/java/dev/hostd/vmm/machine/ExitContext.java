package dev.hostd.vmm.machine;

/** What a vCPU needs from its VM while handling exits; implemented by {@link MicroVm} and {@link LinuxVm}. */
interface ExitContext {
    /** Paravirtual ports of docs/guest-abi.md. */
    int WAIT_PORT = 0x510;
    int PANIC_PORT = 0x511;
    /** Wait with a time limit: the 32-bit value written is the most microseconds to sleep. */
    int WAIT_TIMED_PORT = 0x512;

    /**
     * Whether the ports above mean wait/panic. Only for guests written to guest-abi.md; to a Linux
     * guest 0x510 is just a port (QEMU's fw_cfg, for one), which must not park its vCPU.
     */
    default boolean paravirtualPorts() {
        return true;
    }

    PioBus pio();

    MmioBus mmio();

    /**
     * A vCPU triple-faulted (KVM_EXIT_SHUTDOWN). True if the VM takes that as a reset and has
     * asked its vCPUs to stop; false makes it a guest failure, as for the test guest.
     */
    default boolean tripleFault(int vcpuIndex) {
        return false;
    }

    /** Delivers pending host work into guest queues; true if the guest has something new. */
    boolean serviceDevices();

    /** Text for error messages: the tail of the guest console. */
    String consoleTail();
}
