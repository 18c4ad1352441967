package dev.hostd.vmm.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Reading vmx/svm from cpuinfo text, and that the host's own answer agrees with its file. */
class HardwareVirtualizationTest {
    @Test
    void aVmxOrSvmFlagMeansPresent() {
        assertEquals(Optional.empty(), HardwareVirtualization.missing("processor\t: 0\nflags\t\t: fpu vme vmx sse2\n"));
        assertEquals(Optional.empty(), HardwareVirtualization.missing("flags\t\t: fpu svm lm\n"));
    }

    @Test
    void noFlagNamesTheReason() {
        Optional<String> missing = HardwareVirtualization.missing("processor\t: 0\nflags\t\t: fpu vme sse2 hypervisor\n");
        assertTrue(missing.orElseThrow().contains("vmx/svm"), missing.orElseThrow());
        assertTrue(missing.orElseThrow().contains("PVM"), missing.orElseThrow());
    }

    @Test
    void onlyWholeFlagsOfFlagsLinesCount() {
        assertTrue(HardwareVirtualization.missing("flags\t\t: fpu vmxfoo svm_lock\nmodel name\t: vmx svm\n").isPresent());
    }

    @Test
    void theHostsAnswerIsItsCpuinfos() throws IOException {
        String text = Files.readString(HardwareVirtualization.CPUINFO);
        assertEquals(HardwareVirtualization.missing(text).isEmpty(), HardwareVirtualization.present());
    }
}
