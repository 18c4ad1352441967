package dev.hostd.vmm.device.platform;

import dev.hostd.vmm.device.PioDevice;

/**
 * Just enough of the PC keyboard controller for a guest to reset the machine: the data port 0x60
 * and the status/command port 0x64 (registered as one range 0x60-0x64; offsets 1-3 are not the
 * controller's). The status byte always says both buffers are empty, so Linux's {@code kb_wait()}
 * returns at once; command 0xFE ("pulse the reset line") asks for a reset, which is Linux's
 * {@code reboot=kbd} path and the one it takes when the FADT has no reset register. No keyboard:
 * the FADT says there is no 8042, so Linux's i8042 driver does not probe it.
 */
public final class I8042 implements PioDevice {
    public static final int BASE = 0x60;
    public static final int PORT_COUNT = 5;
    static final int DATA = 0, STATUS_COMMAND = 4;
    public static final int CMD_RESET = 0xFE;

    private final Runnable onReset;

    /** @param onReset runs on the vCPU thread that wrote the reset command */
    public I8042(Runnable onReset) {
        this.onReset = onReset;
    }

    @Override
    public int read(int offset, int size) {
        return switch (offset) {
            case DATA, STATUS_COMMAND -> 0; // nothing to read, input buffer empty
            default -> size == 4 ? -1 : (1 << (8 * size)) - 1; // not ours: as if nothing answered
        };
    }

    @Override
    public void write(int offset, int size, int value) {
        if (offset == STATUS_COMMAND && (value & 0xFF) == CMD_RESET) {
            onReset.run();
        }
    }
}
