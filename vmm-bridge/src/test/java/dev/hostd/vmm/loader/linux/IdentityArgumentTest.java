package dev.hostd.vmm.loader.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hostd.vmm.VmmException;
import org.junit.jupiter.api.Test;

/** hostd.identity= on the command line: appended once, a different caller value refused. */
class IdentityArgumentTest {
    @Test
    void itIsAppended() {
        assertEquals("console=ttyS0 hostd.identity=0x9f000", IdentityArgument.append("console=ttyS0", 0x9F000));
        assertEquals("console=ttyS0 hostd.identity=0x9f000", IdentityArgument.append("console=ttyS0  ", 0x9F000));
        assertEquals("hostd.identity=0x9f000", IdentityArgument.append("", 0x9F000));
        assertEquals("hostd.identity=0x9f000", IdentityArgument.format(LinuxLayout.IDENTITY_PAGE));
    }

    @Test
    void theSameAddressIsKeptAsTheCallerWroteIt() {
        assertEquals("hostd.identity=0x9F000 quiet", IdentityArgument.append("hostd.identity=0x9F000 quiet", 0x9F000));
        assertEquals("a hostd.identity=0x0009f000", IdentityArgument.append("a hostd.identity=0x0009f000", 0x9F000));
    }

    @Test
    void anotherOrMalformedAddressIsRefused() {
        for (String bad : new String[] {"hostd.identity=0x5000", "x hostd.identity=9f000", "hostd.identity=", "hostd.identity=0xzz"}) {
            VmmException e = assertThrows(VmmException.class, () -> IdentityArgument.append(bad, 0x9F000), bad);
            assertEquals(VmmException.Kind.INVALID_INPUT, e.kind());
            assertTrue(e.getMessage().contains("puts the identity page at 0x9f000"), e.getMessage());
        }
    }
}
