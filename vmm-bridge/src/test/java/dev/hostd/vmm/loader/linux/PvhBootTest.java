package dev.hostd.vmm.loader.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.hostd.vmm.internal.linux.kvm_dtable;
import dev.hostd.vmm.internal.linux.kvm_regs;
import dev.hostd.vmm.internal.linux.kvm_segment;
import dev.hostd.vmm.internal.linux.kvm_sregs;
import dev.hostd.vmm.kvm.Kvm;
import dev.hostd.vmm.kvm.VcpuFd;
import dev.hostd.vmm.kvm.VmFd;
import dev.hostd.vmm.memory.GuestMemory;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/** The PVH entry state as KVM holds it after {@link PvhBoot#setRegisters}: read back from a real vCPU. */
class PvhBootTest {
    @Test
    void theVcpuIsIn32BitProtectedModeWithoutPagingAndEbxAtStartInfo() {
        try (Kvm kvm = Kvm.open(); VmFd vm = kvm.createVm(); VcpuFd vcpu = vm.createVcpu(0); Arena arena = Arena.ofConfined()) {
            PvhBoot.setRegisters(vcpu, 0x1000850, LinuxLayout.START_INFO);
            MemorySegment sregs = vcpu.getSregs(arena);
            assertEquals(1, kvm_sregs.cr0(sregs) & 0x8000_0001L, "CR0.PE set, CR0.PG clear");
            assertEquals(0, kvm_sregs.cr4(sregs));
            assertEquals(0, kvm_sregs.efer(sregs), "no long mode");
            MemorySegment cs = kvm_sregs.cs(sregs);
            assertEquals(0x08, kvm_segment.selector(cs));
            assertEquals(1, kvm_segment.db(cs), "32-bit code");
            assertEquals(0, kvm_segment.l(cs));
            assertEquals(0, kvm_segment.base(cs));
            assertEquals(0xFFFF_FFFF, kvm_segment.limit(cs), "flat 4 GiB");
            for (MemorySegment data : new MemorySegment[] {kvm_sregs.ds(sregs), kvm_sregs.es(sregs), kvm_sregs.ss(sregs)}) {
                assertEquals(0x10, kvm_segment.selector(data));
                assertEquals(3, kvm_segment.type(data), "read/write data, accessed");
                assertEquals(0xFFFF_FFFF, kvm_segment.limit(data));
            }
            MemorySegment tr = kvm_sregs.tr(sregs);
            assertEquals(0x18, kvm_segment.selector(tr));
            assertEquals(0xB, kvm_segment.type(tr), "32-bit busy TSS");
            assertEquals(LinuxLayout.GDT, kvm_dtable.base(kvm_sregs.gdt(sregs)));
            MemorySegment regs = vcpu.getRegs(arena);
            assertEquals(0x1000850, kvm_regs.rip(regs));
            assertEquals(LinuxLayout.START_INFO, kvm_regs.rbx(regs));
            assertEquals(0, kvm_regs.rflags(regs) & 0x200, "interrupts off");
        }
    }

    @Test
    void theGdtDescribesTheSameSegments() {
        try (Arena arena = Arena.ofConfined()) {
            GuestMemory memory = new GuestMemory(arena.allocate(1 << 20, 4096));
            PvhBoot.writeGdt(memory);
            assertEquals(0, memory.readU64(LinuxLayout.GDT));
            assertEquals(0x00CF9B000000FFFFL, memory.readU64(LinuxLayout.GDT + 0x08), "code: base 0, limit 4 GiB, 32-bit, execute/read");
            assertEquals(0x00CF93000000FFFFL, memory.readU64(LinuxLayout.GDT + 0x10), "data: base 0, limit 4 GiB, read/write");
            assertEquals(0x00008B0000000067L, memory.readU64(LinuxLayout.GDT + 0x18), "TSS: busy, limit 0x67");
        }
    }
}
