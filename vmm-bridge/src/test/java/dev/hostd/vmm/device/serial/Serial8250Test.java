package dev.hostd.vmm.device.serial;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The UART registers as Linux's earlyprintk and 8250 driver use them (offsets from COM1). */
class Serial8250Test {
    private final Serial8250 uart = new Serial8250(new ConsoleLog(1024));

    @Test
    void transmitGoesToTheLogAndTheLineIsAlwaysReady() {
        for (char c : "ok\n".toCharArray()) {
            assertEquals(0x60, uart.read(5, 1) & 0x60, "LSR: THRE and TEMT, so a polling guest never waits");
            uart.write(0, 1, c);
        }
        assertEquals("ok\n", uart.log().text());
    }

    @Test
    void divisorLatchIsSeparateFromDataAndIer() {
        uart.write(3, 1, 0x83); // DLAB, 8N1
        uart.write(0, 1, 0x01); // 115200 baud: divisor 1
        uart.write(1, 1, 0x00);
        assertEquals(0x01, uart.read(0, 1));
        assertEquals(0x00, uart.read(1, 1));
        assertEquals("", uart.log().text(), "divisor writes are not output");
        uart.write(3, 1, 0x03);
        uart.write(1, 1, 0xFF);
        assertEquals(0x0F, uart.read(1, 1), "IER keeps its four defined bits");
        assertEquals(0x03, uart.read(3, 1));
    }

    @Test
    void iirScratchAndFifo() {
        assertEquals(0x01, uart.read(2, 1), "IIR: no interrupt pending, no FIFO");
        uart.write(2, 1, 0x07);
        assertEquals(0xC1, uart.read(2, 1), "IIR: FIFOs enabled (a 16550A)");
        uart.write(7, 1, 0xA5);
        assertEquals(0xA5, uart.read(7, 1), "scratch register");
    }

    @Test
    void loopbackReflectsModemControlAsLinuxChecksIt() {
        assertEquals(0xB0, uart.read(6, 1), "MSR: carrier, DSR, CTS");
        uart.write(4, 1, 0x10 | 0x0A); // LOOP | OUT2 | RTS: serial8250's autoconfig loopback test
        assertEquals(0x90, uart.read(6, 1) & 0xF0, "DCD from OUT2, CTS from RTS");
        uart.write(4, 1, 0x10 | 0x05); // LOOP | OUT1 | DTR
        assertEquals(0x60, uart.read(6, 1) & 0xF0, "RI from OUT1, DSR from DTR");
        uart.write(0, 1, 'x');
        assertEquals("", uart.log().text(), "in loopback nothing reaches the line");
        uart.write(4, 1, 0x0B);
        assertEquals(0xB0, uart.read(6, 1));
        uart.write(0, 1, 'y');
        assertEquals("y", uart.log().text());
    }
}
