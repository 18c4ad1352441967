package dev.hostd.vmm.machine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hostd.vmm.VmmException;
import dev.hostd.vmm.kvm.Kvm;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** What LinuxVm refuses before it creates anything. The boot itself is LinuxEarlyBootIT. */
class LinuxVmTest {
    static Kvm kvm;

    @BeforeAll
    static void openKvm() {
        kvm = Kvm.open();
    }

    @AfterAll
    static void closeKvm() {
        kvm.close();
    }

    @Test
    void badShapesAreRefusedWithTheReason() {
        refused(new byte[4096], "console=ttyS0", 128, 2, "1 vCPU for now");
        refused(new byte[4096], "console=ttyS0", 32, 1, "64..3328 MiB");
        refused(new byte[4096], "console=ttyS0", 4096, 1, "RAM above the MMIO hole is not wired");
        refused(new byte[4096], "x".repeat(2048), 128, 1, "at most 2047");
        refused(new byte[4096], "caf\u00e9", 128, 1, "ASCII");
        refused(new byte[4096], "console=ttyS0", 128, 1, "not a Linux bzImage");
    }

    private static void refused(byte[] image, String cmdline, int mib, int vcpus, String reason) {
        VmmException e = assertThrows(VmmException.class, () -> LinuxVm.boot("bad", kvm, image, cmdline, mib, vcpus));
        assertEquals(VmmException.Kind.INVALID_INPUT, e.kind());
        assertTrue(e.getMessage().contains(reason), "expected '" + reason + "' in: " + e.getMessage());
    }
}
