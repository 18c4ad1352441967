package dev.hostd.cgroup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class CpuLimitsTest {
    @Test
    void percentOfACpuIsAQuotaPerDefaultPeriod() {
        CpuLimits l = CpuLimits.percentOfCpu(20, 100);
        assertEquals(20_000, l.quotaMicros());
        assertEquals("20000 100000", l.cpuMax());
        assertEquals(1024, l.shares());
        assertEquals("max 100000", CpuLimits.UNLIMITED.cpuMax());
        assertEquals(250_000, CpuLimits.percentOfCpu(250, 100).quotaMicros());
        assertEquals(10, new CpuLimits(-1, 100_000, 1, null).shares(), "systemd's mapping: weight × 1024 / 100");
        assertEquals(102_400, new CpuLimits(-1, 100_000, 10_000, null).shares());
    }

    @Test
    void badLimitsAreRefusedNamingWhatIsWrong() {
        assertRefused(() -> CpuLimits.percentOfCpu(0, 100), "CPU percent must be 1..102400");
        assertRefused(() -> CpuLimits.percentOfCpu(20, 0), "CPU weight must be 1..10000, got 0");
        assertRefused(() -> CpuLimits.percentOfCpu(20, 10_001), "CPU weight must be 1..10000, got 10001");
        assertRefused(() -> new CpuLimits(999, 100_000, 100, null), "at least 1000 µs");
        assertRefused(() -> new CpuLimits(-5, 100_000, 100, null), "got -5 µs");
        assertRefused(() -> new CpuLimits(10_000, 999, 100, null), "CPU period must be 1000..1000000 µs, got 999");
        assertRefused(() -> new CpuLimits(10_000, 2_000_000, 100, null), "got 2000000");
        assertRefused(() -> new CpuLimits(10_000, 100_000, 100, "0-1;rm"), "cpus must be a CPU list");
        assertRefused(() -> new CpuLimits(10_000, 100_000, 100, ""), "cpus must be a CPU list");
    }

    private static void assertRefused(Runnable r, String expected) {
        CgroupException e = assertThrows(CgroupException.class, r::run);
        assertTrue(e.invalidInput(), "invalid input: " + e.getMessage());
        assertTrue(e.getMessage().startsWith("CPU limits: "), e.getMessage());
        assertTrue(e.getMessage().contains(expected), e.getMessage() + " should say " + expected);
    }
}
