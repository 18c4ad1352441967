package dev.hostd.vmm.machine;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.hostd.vmm.kvm.Kvm;
import dev.hostd.vmm.testing.GuestKernel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The whole kernel start-up, as far as a kernel without an initramfs or a root device goes: it
 * runs every initcall and then cannot mount a root file system. Needs hardware virtualization: on
 * a PVM host (no vmx/svm, host-facts.md) every kernel instruction is emulated and this would take
 * hours, so it is skipped there with that reason. Not yet run on a VMX/SVM host.
 */
class LinuxFullBootIT {
    /** keep_bootcon: the polled early console stays even if the 8250 driver does not take the port. */
    static final String CMDLINE = "earlyprintk=serial,ttyS0,115200 console=ttyS0 keep_bootcon";
    static final long HANG_GUARD_SECONDS = 120;
    private static final Pattern NO_ROOT = Pattern.compile("VFS: Unable to mount root fs|Kernel panic - not syncing");

    @BeforeAll
    static void needsHardwareVirtualization() throws IOException {
        java.util.Optional<String> missing = dev.hostd.vmm.kvm.HardwareVirtualization.missing();
        assumeTrue(missing.isEmpty(), () -> missing.orElseThrow() + "; LinuxEarlyBootIT covers what runs here");
        assumeTrue(Files.exists(Kvm.DEVICE), "no /dev/kvm on this machine");
    }

    @Test
    @Timeout(value = HANG_GUARD_SECONDS + 60, unit = TimeUnit.SECONDS)
    void theKernelRunsItsWholeStartUpUntilItLooksForARootFileSystem() throws Exception {
        byte[] bzImage = Files.readAllBytes(GuestKernel.vmlinuz());
        try (Kvm kvm = Kvm.open(); LinuxVm vm = LinuxVm.boot("full", kvm, bzImage, CMDLINE, 256, 1)) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(HANG_GUARD_SECONDS);
            while (!NO_ROOT.matcher(vm.console().text()).find()) {
                if (vm.stopped().isDone()) {
                    fail("the VM stopped before the kernel looked for a root file system; console tail:\n" + vm.console().tail(40));
                }
                if (System.nanoTime() > deadline) {
                    fail("hang guard: the kernel did not reach the root mount in " + HANG_GUARD_SECONDS + " s; console tail:\n"
                            + vm.console().tail(40));
                }
                Thread.sleep(100);
            }
            String console = vm.console().text();
            assertTrue(console.contains("ACPI: Interpreter enabled"), "the ACPI interpreter ran over our DSDT:\n" + console);
        }
    }
}
