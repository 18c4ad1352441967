package dev.hostd.vmm.loader.linux;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/** CX16 hidden in leaf 1, the vCPU's APIC ID in leaves 1, 0xB and 0x1F, and nothing else touched. */
class LinuxCpuidTest {
    private static final int ENTRY = 40; // sizeof(struct kvm_cpuid_entry2), proven by KvmHeaderTest
    private static final int EBX = 16, ECX = 20, EDX = 24;
    /** function 0, 1, 2, 0xB subleaves 0 and 1, 0x1F subleaf 0 */
    private static final int[][] LEAVES = {{0, 0}, {1, 0}, {2, 0}, {0xB, 0}, {0xB, 1}, {0x1F, 0}};

    private static byte[] supported() {
        ByteBuffer b = ByteBuffer.allocate(LEAVES.length * ENTRY).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < LEAVES.length; i++) {
            int at = i * ENTRY;
            b.putInt(at, LEAVES[i][0]).putInt(at + 4, LEAVES[i][1]);
            b.putInt(at + 12, 0x1111_1111).putInt(at + EBX, 0x2222_2222).putInt(at + ECX, -1).putInt(at + EDX, 0x4444_4444);
        }
        return b.array();
    }

    @Test
    void clearsCx16AndSetsTheApicIdOnly() {
        byte[] supported = supported();
        byte[] guest = LinuxCpuid.forGuest(supported, 3);
        ByteBuffer g = ByteBuffer.wrap(guest).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(~LinuxCpuid.ECX_CX16, g.getInt(ENTRY + ECX), "leaf 1 ECX without bit 13");
        assertEquals(0x0322_2222, g.getInt(ENTRY + EBX), "leaf 1 EBX[31:24] is the APIC ID, the rest kept");
        for (int i : new int[] {3, 4, 5}) {
            assertEquals(3, g.getInt(i * ENTRY + EDX), "x2APIC ID in EDX of leaf 0x" + Integer.toHexString(LEAVES[i][0])
                    + " subleaf " + LEAVES[i][1]);
        }
        assertEquals(-1, g.getInt(ECX), "leaf 0 untouched");
        assertEquals(-1, g.getInt(2 * ENTRY + ECX), "leaf 2 untouched");
        g.putInt(ENTRY + ECX, -1).putInt(ENTRY + EBX, 0x2222_2222);
        for (int i : new int[] {3, 4, 5}) {
            g.putInt(i * ENTRY + EDX, 0x4444_4444);
        }
        assertArrayEquals(supported, guest, "only those fields changed");
        assertArrayEquals(supported(), supported, "the input is not modified");
    }

    @Test
    void eachVcpuGetsItsOwnApicId() {
        byte[] supported = supported();
        for (int id : new int[] {0, 1, 255}) {
            ByteBuffer g = ByteBuffer.wrap(LinuxCpuid.forGuest(supported, id)).order(ByteOrder.LITTLE_ENDIAN);
            assertEquals(id, g.getInt(ENTRY + EBX) >>> 24);
            assertEquals(id, g.getInt(3 * ENTRY + EDX));
        }
        assertThrows(IllegalArgumentException.class, () -> LinuxCpuid.forGuest(supported, 256));
    }
}
