package dev.hostd.vmm.machine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.hostd.vmm.kvm.Kvm;
import dev.hostd.vmm.memory.MemoryFile;
import dev.hostd.vmm.testing.SharedKvm;
import java.nio.file.Files;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** VMs made ahead: {@code poll} never makes one on the caller's thread, {@code take} does when none is ready. */
@Timeout(value = 60, unit = TimeUnit.SECONDS) // hang guard only
class VmShellsTest {
    private static final long RAM = 2L << 20;

    @Test
    void pollGivesOnlyAVmMadeAheadAndTakeMakesOneWhenNoneIsReady() throws Exception {
        assumeTrue(Files.exists(Kvm.DEVICE), "no /dev/kvm on this machine");
        AtomicInteger mapped = new AtomicInteger();
        try (MemoryFile file = MemoryFile.anonymous("shells-test", RAM)) {
            try (VmShells none = new VmShells(SharedKvm.get(), 0, true, () -> {
                mapped.incrementAndGet();
                return file.mapPrivate();
            })) {
                assertNull(none.poll(), "no VM is made ahead with a target of 0");
                assertEquals(0, mapped.get(), "poll made no VM");
                try (VmShell made = none.take()) {
                    assertNotNull(made.ram());
                    assertEquals(1, mapped.get(), "take made one on the caller's thread");
                }
            }
            try (VmShells one = new VmShells(SharedKvm.get(), 1, true, file::mapPrivate)) {
                VmShell ready = null;
                while (ready == null) { // the filler makes it in the background (hang guard above)
                    ready = one.poll();
                    Thread.sleep(1);
                }
                try (VmShell shell = ready) {
                    assertEquals(RAM, shell.ram().size());
                }
            }
        }
    }
}
