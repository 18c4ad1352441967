package dev.hostd.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class TableTest {
    @Test
    void columnsAlignNumbersRightNoTrailingBlanks() {
        String s = Table.withHeaders("NAME", "SIZE", "NOTE").right(1)
                .row("a", 1, "x")
                .row("longer", 12345, null)
                .render();
        assertEquals("""
                NAME     SIZE  NOTE
                a           1  x
                longer  12345  -
                """, s);
    }

    @Test
    void keyValueHasNoHeader() {
        assertEquals("a:     1\nbbbb:  2\n", Table.keyValue().row("a:", 1).row("bbbb:", 2).render());
    }

    @Test
    void sizesAndDurations() {
        assertEquals("512 B", Format.bytes(512));
        assertEquals("1.5 KiB", Format.bytes(1536));
        assertEquals("10.0 GiB", Format.bytes(10L << 30));
        assertEquals("128 MiB", Format.bytes(128L << 20));
        assertEquals("59s", Format.duration(59));
        assertEquals("1m05s", Format.duration(65));
        assertEquals("1h02m", Format.duration(3725));
        assertEquals("2d3h", Format.duration(2 * 86400 + 3 * 3600));
    }
}
