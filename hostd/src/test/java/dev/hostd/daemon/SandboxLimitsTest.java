package dev.hostd.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hostd.cgroup.CpuLimits;
import org.junit.jupiter.api.Test;

/** The API's CPU limits: bounds, defaults per member, and what is written to the cgroup. */
class SandboxLimitsTest {
    private final SandboxLimits defaults = SandboxLimits.defaults(30, 100);

    @Test
    void membersLeftOutTakeTheDefaults() {
        assertEquals(defaults, SandboxLimits.of(null, defaults));
        assertEquals(new SandboxLimits(30, 200), SandboxLimits.of(new Dto.LimitsRequest(null, 200), defaults));
        assertEquals(new SandboxLimits(5, 100), SandboxLimits.of(new Dto.LimitsRequest(5, null), defaults));
        assertNull(SandboxLimits.defaults(0, 100).cpuPercent(), "percent 0 in the settings is no quota");
    }

    @Test
    void mapsToTheQuotaInTheDefaultPeriod() {
        assertEquals(new CpuLimits(20_000, 100_000, 300, null), new SandboxLimits(20, 300).cpu());
        assertEquals(new CpuLimits(1_000, 100_000, 1, null), new SandboxLimits(1, 1).cpu(), "1% is the kernel's 1 ms minimum");
        assertEquals(CpuLimits.NO_QUOTA, new SandboxLimits(null, 100).cpu().quotaMicros());
    }

    @Test
    void outOfRangeRequestsNameTheMemberAndTheRange() {
        for (int bad : new int[] {0, -1, 101, 1000}) {
            ApiException e = assertThrows(ApiException.class, () -> SandboxLimits.of(new Dto.LimitsRequest(bad, null), defaults));
            assertEquals(ProblemCode.INVALID_INPUT, e.code());
            assertTrue(e.getMessage().startsWith("limits.cpuPercent must be 1..100") && e.getMessage().endsWith("got " + bad), e.getMessage());
        }
        for (int bad : new int[] {0, 10_001}) {
            ApiException e = assertThrows(ApiException.class, () -> SandboxLimits.of(new Dto.LimitsRequest(null, bad), defaults));
            assertTrue(e.getMessage().startsWith("limits.cpuWeight must be 1..10000") && e.getMessage().endsWith("got " + bad), e.getMessage());
        }
    }

    @Test
    void badSettingsNameTheirKey() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> SandboxLimits.defaults(101, 100)).getMessage()
                .startsWith("invalid setting hostd.cgroups.cpu-percent=101"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> SandboxLimits.defaults(-1, 100)).getMessage()
                .startsWith("invalid setting hostd.cgroups.cpu-percent=-1"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> SandboxLimits.defaults(20, 0)).getMessage()
                .startsWith("invalid setting hostd.cgroups.cpu-weight=0"));
    }
}
