package dev.hostd.vmm.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hostd.vmm.DensityKnobs;
import dev.hostd.vmm.VmmException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The guest-RAM knobs reach the kernel (the mapping's VmFlags in smaps), and bad values are refused. */
class DensityKnobsTest {
    @Test
    void ksmAndNoHugePagesShowInTheMappingsVmFlags() throws IOException {
        try (MemoryFile file = MemoryFile.anonymous("knobs", 4 << 20); MemoryMapping plain = file.mapPrivate();
             MemoryMapping tuned = file.mapPrivate()) {
            MemoryFile.applyDensityKnobs(tuned, new DensityKnobs(true, true, 256));
            List<String> tunedFlags = vmFlags(tuned);
            assertTrue(tunedFlags.contains("mg"), "MADV_MERGEABLE sets VM_MERGEABLE (mg): " + tunedFlags);
            assertTrue(tunedFlags.contains("nh"), "MADV_NOHUGEPAGE sets VM_NOHUGEPAGE (nh): " + tunedFlags);
            List<String> plainFlags = vmFlags(plain);
            assertFalse(plainFlags.contains("mg") || plainFlags.contains("nh"), "defaults (no system properties): " + plainFlags);
        }
    }

    @Test
    void badValuesAreRefusedNamingTheProperty() {
        VmmException small = assertThrows(VmmException.class, () -> new DensityKnobs(false, false, 64));
        assertTrue(small.getMessage().contains("hostd.density.vcpu-stack-kib must be 136..16384 KiB, got 64"), small.getMessage());
        assertEquals(256, DensityKnobs.CURRENT.vcpuStackKib(), "tests run with the default");
    }

    /** The VmFlags line of the smaps entry that starts at the mapping's address. */
    private static List<String> vmFlags(MemoryMapping m) throws IOException {
        String start = Long.toHexString(m.segment().address()) + "-";
        boolean inside = false;
        for (String line : Files.readAllLines(Path.of("/proc/self/smaps"))) {
            if (line.startsWith(start)) {
                inside = true;
            } else if (inside && line.startsWith("VmFlags:")) {
                return List.of(line.substring("VmFlags:".length()).trim().split("\\s+"));
            }
        }
        throw new AssertionError("no smaps entry at " + start);
    }
}
