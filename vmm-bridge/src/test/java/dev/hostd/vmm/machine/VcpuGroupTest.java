package dev.hostd.vmm.machine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hostd.vmm.VmmException;
import dev.hostd.vmm.kvm.Kvm;
import dev.hostd.vmm.loader.linux.PvhBoot;
import dev.hostd.vmm.memory.GuestMemory;
import dev.hostd.vmm.memory.MemoryFile;
import dev.hostd.vmm.memory.MemoryMapping;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A failure on one vCPU of several, on the real /dev/kvm: vCPU 0 triple-faults in a VM whose exit
 * handling takes that as a crash (as the test guest's does), so {@code stopped()} completes
 * exceptionally naming vCPU 0, and vCPU 1, waiting for a SIPI, is stopped with it.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS) // a hang guard
class VcpuGroupTest {
    static final long CODE = 0x10_0000, IDTR = 0x10_0100;

    @Test
    void aFailingVcpuStopsTheOthersAndIsNamed() throws Exception {
        ExitContext crashOnTripleFault = new ExitContext() {
            private final PioBus pio = new PioBus();
            private final MmioBus mmio = new MmioBus();

            @Override public PioBus pio() { return pio; }
            @Override public MmioBus mmio() { return mmio; }
            @Override public boolean serviceDevices() { return false; }
            @Override public String consoleTail() { return ""; }
        };
        MemoryMapping ram;
        try (MemoryFile file = MemoryFile.anonymous("vcpu-group", 4 << 20)) {
            ram = file.mapShared();
        }
        try (Kvm kvm = Kvm.open(); VmShell shell = VmShell.withMemory(kvm, true, ram)) {
            GuestMemory memory = new GuestMemory(ram.segment());
            // lidt [IDTR] (an empty IDT), ud2: #UD, then #DF, cannot be delivered
            byte[] code = {0x0F, 0x01, 0x1D, (byte) IDTR, (byte) (IDTR >>> 8), (byte) (IDTR >>> 16), (byte) (IDTR >>> 24), 0x0F, 0x0B};
            memory.write(CODE, code, 0, code.length);
            PvhBoot.writeGdt(memory);
            VcpuGroup group = new VcpuGroup(shell, 2, crashOnTripleFault);
            try {
                PvhBoot.setRegisters(group.fd(0), CODE, 0);
                group.start("vcpu-group-test");
                ExecutionException e = assertThrows(ExecutionException.class, () -> group.stopped().get(30, TimeUnit.SECONDS));
                VmmException failure = (VmmException) e.getCause();
                assertEquals(VmmException.Kind.GUEST_FAILURE, failure.kind());
                assertEquals("vCPU 0", failure.operation());
                assertTrue(failure.getMessage().startsWith("vCPU 0 of 2: guest crashed: triple fault"), failure.getMessage());
                assertArrayEquals(new int[0], group.threadIds(), "vCPU 1 stopped too");
            } finally {
                group.close();
            }
        }
    }
}
