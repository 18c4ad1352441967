package dev.hostd.vmm.machine;

import dev.hostd.vmm.VmmException;
import dev.hostd.vmm.loader.GuestLayout;

/**
 * The shape of a microVM: RAM, vCPUs, whether KVM emulates the interrupt controllers (Linux
 * guests need them; the polled test guest does not, and is cheaper without them), and how much
 * console output to keep.
 *
 * @param guestKind "user-elf" for the test guest; Linux kinds come with issue 7
 * @param net whether the machine has a virtio-net device (virtio-mmio slot 1)
 */
public record MachineConfig(long memoryBytes, int vcpuCount, boolean irqchip, int consoleLogBytes, String guestKind, boolean net) {
    public static final String USER_ELF = "user-elf";
    public static final long MIN_MEMORY = 8L << 20;
    public static final int DEFAULT_CONSOLE_LOG_BYTES = 16 << 10;

    public MachineConfig {
        if (memoryBytes < MIN_MEMORY || memoryBytes % GuestLayout.PAGE_2M != 0) {
            throw invalid("guest memory must be a multiple of 2 MiB and at least " + (MIN_MEMORY >> 20) + " MiB, got " + memoryBytes + " bytes");
        }
        if (!USER_ELF.equals(guestKind)) {
            throw invalid("unknown guest kind '" + guestKind + "' (supported: " + USER_ELF + ")");
        }
        if (memoryBytes > GuestLayout.MAX_USER_MODE_RAM) {
            throw invalid("a user-mode guest has at most " + (GuestLayout.MAX_USER_MODE_RAM >> 20) + " MiB of RAM, asked for " + (memoryBytes >> 20) + " MiB");
        }
        if (vcpuCount != 1) {
            throw invalid("a user-mode guest has exactly 1 vCPU (no SMP start-up without a kernel), asked for " + vcpuCount);
        }
        if (consoleLogBytes < 1024 || consoleLogBytes > (16 << 20)) {
            throw invalid("console log must keep 1 KiB..16 MiB, got " + consoleLogBytes + " bytes");
        }
    }

    /** A machine without a network device. */
    public MachineConfig(long memoryBytes, int vcpuCount, boolean irqchip, int consoleLogBytes, String guestKind) {
        this(memoryBytes, vcpuCount, irqchip, consoleLogBytes, guestKind, false);
    }

    /** The same machine with a virtio-net device. */
    public MachineConfig withNet() {
        return new MachineConfig(memoryBytes, vcpuCount, irqchip, consoleLogBytes, guestKind, true);
    }

    /** The test guest with {@code memoryMiB} of RAM. */
    public static MachineConfig userElf(int memoryMiB) {
        return new MachineConfig((long) memoryMiB << 20, 1, false, DEFAULT_CONSOLE_LOG_BYTES, USER_ELF);
    }

    private static VmmException invalid(String message) {
        return new VmmException(VmmException.Kind.INVALID_INPUT, "machine config", message);
    }
}
