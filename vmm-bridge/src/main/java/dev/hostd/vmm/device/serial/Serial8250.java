package dev.hostd.vmm.device.serial;

import dev.hostd.vmm.device.PioDevice;

/**
 * A 16550A-compatible UART at COM1 as far as a polled console needs: transmit into a
 * {@link ConsoleLog}, the divisor latch, scratch and control registers kept so that a guest's
 * probing and a snapshot see consistent values, and the modem-control loopback that Linux's 8250
 * driver tests before it takes the port. No receive path and no interrupts (yet).
 */
public final class Serial8250 implements PioDevice {
    public static final int COM1_BASE = 0x3F8;
    public static final int PORT_COUNT = 8;

    private static final int THR_RBR_DLL = 0, IER_DLM = 1, IIR_FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7;
    private static final int LCR_DLAB = 0x80;
    private static final int LSR_THR_EMPTY = 0x20, LSR_TX_IDLE = 0x40;
    private static final int IIR_NO_INTERRUPT = 0x01, IIR_FIFO_ENABLED = 0xC0;
    private static final int MSR_DCD_DSR_CTS = 0xB0;
    private static final int MCR_DTR = 0x01, MCR_RTS = 0x02, MCR_OUT1 = 0x04, MCR_OUT2 = 0x08, MCR_LOOP = 0x10;
    private static final int MSR_CTS = 0x10, MSR_DSR = 0x20, MSR_RI = 0x40, MSR_DCD = 0x80;

    private final ConsoleLog log;
    private SerialState state = SerialState.RESET;

    public Serial8250(ConsoleLog log) {
        this.log = log;
    }

    public ConsoleLog log() {
        return log;
    }

    @Override
    public synchronized int read(int offset, int size) {
        boolean dlab = (state.lcr() & LCR_DLAB) != 0;
        return switch (offset) {
            case THR_RBR_DLL -> dlab ? state.dll() : 0;
            case IER_DLM -> dlab ? state.dlm() : state.ier();
            case IIR_FCR -> IIR_NO_INTERRUPT | ((state.fcr() & 1) != 0 ? IIR_FIFO_ENABLED : 0);
            case LCR -> state.lcr();
            case MCR -> state.mcr();
            case LSR -> LSR_THR_EMPTY | LSR_TX_IDLE;
            case MSR -> (state.mcr() & MCR_LOOP) != 0 ? loopbackMsr(state.mcr()) : MSR_DCD_DSR_CTS;
            case SCR -> state.scr();
            default -> 0xFF;
        };
    }

    @Override
    public synchronized void write(int offset, int size, int value) {
        int b = value & 0xFF;
        boolean dlab = (state.lcr() & LCR_DLAB) != 0;
        switch (offset) {
            case THR_RBR_DLL -> {
                if (dlab) {
                    state = state.withDll(b);
                } else if ((state.mcr() & MCR_LOOP) == 0) { // in loopback the byte goes to the (absent) receiver, not the line
                    log.append((byte) b);
                }
            }
            case IER_DLM -> state = dlab ? state.withDlm(b) : state.withIer(b & 0x0F);
            case IIR_FCR -> state = state.withFcr(b);
            case LCR -> state = state.withLcr(b);
            case MCR -> state = state.withMcr(b & 0x1F);
            case SCR -> state = state.withScr(b);
            default -> { } // LSR and MSR are read-only
        }
    }

    /** In loopback the modem outputs come back as inputs: DTR→DSR, RTS→CTS, OUT1→RI, OUT2→DCD. */
    private static int loopbackMsr(int mcr) {
        return ((mcr & MCR_DTR) != 0 ? MSR_DSR : 0) | ((mcr & MCR_RTS) != 0 ? MSR_CTS : 0)
                | ((mcr & MCR_OUT1) != 0 ? MSR_RI : 0) | ((mcr & MCR_OUT2) != 0 ? MSR_DCD : 0);
    }

    public synchronized SerialState saveState() {
        return state;
    }

    public synchronized void restoreState(SerialState saved) {
        this.state = saved;
    }
}
