package dev.hostd.vmm.loader.linux;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/** CX16 hidden in leaf 1 and nothing else touched. */
class LinuxCpuidTest {
    private static final int ENTRY = 40; // sizeof(struct kvm_cpuid_entry2), proven by KvmHeaderTest

    @Test
    void clearsCx16InLeafOneOnly() {
        ByteBuffer b = ByteBuffer.allocate(3 * ENTRY).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 3; i++) {
            int at = i * ENTRY;
            b.putInt(at, i); // function 0, 1, 2
            b.putInt(at + 12, 0x1111_1111).putInt(at + 16, 0x2222_2222).putInt(at + 20, -1).putInt(at + 24, 0x4444_4444);
        }
        byte[] supported = b.array().clone();
        byte[] guest = LinuxCpuid.forGuest(supported);
        ByteBuffer g = ByteBuffer.wrap(guest).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(~LinuxCpuid.ECX_CX16, g.getInt(ENTRY + 20), "leaf 1 ECX without bit 13");
        assertEquals(-1, g.getInt(20), "leaf 0 untouched");
        assertEquals(-1, g.getInt(2 * ENTRY + 20), "leaf 2 untouched");
        g.putInt(ENTRY + 20, -1);
        assertArrayEquals(supported, guest, "only that bit changed");
        assertEquals(-1, ByteBuffer.wrap(supported).order(ByteOrder.LITTLE_ENDIAN).getInt(ENTRY + 20), "the input is not modified");
    }
}
