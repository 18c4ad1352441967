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

/**
 * The 64-bit boot protocol's entry state: the page tables and GDT as bytes (literal values from
 * the Intel SDM and boot.rst, not via LongModeBoot's constants) and the registers as KVM holds
 * them after {@link LongModeBoot#setRegisters}, read back from a real vCPU.
 */
class LongModeBootTest {
    @Test
    void thePageTablesIdentityMapTheFirst4GiBIn2MiBPages() {
        try (Arena arena = Arena.ofConfined()) {
            GuestMemory memory = new GuestMemory(arena.allocate(1 << 20, 4096));
            memory.slice(0x8000, 0x8000).fill((byte) 0x5A); // stale bytes around and under the tables
            LongModeBoot.writePageTables(memory);
            assertEquals(0xA003, memory.readU64(0x9000), "PML4[0] -> PDPT at 0xA000, present, writable");
            for (int i = 1; i < 512; i++) {
                assertEquals(0, memory.readU64(0x9000 + 8L * i), "PML4[" + i + "] not present");
            }
            for (int d = 0; d < 4; d++) {
                assertEquals(0xB003 + 0x1000L * d, memory.readU64(0xA000 + 8L * d), "PDPT[" + d + "] -> its page directory");
            }
            for (int i = 4; i < 512; i++) {
                assertEquals(0, memory.readU64(0xA000 + 8L * i), "nothing above 4 GiB: PDPT[" + i + "]");
            }
            assertEquals(0x83, memory.readU64(0xB000), "2 MiB page at 0, present, writable, PS");
            assertEquals(0x0100_0083, memory.readU64(0xB000 + 8 * 8), "16 MiB: where the kernel is loaded");
            assertEquals(0xFEE0_0083L, memory.readU64(0xB000 + 8 * 2039), "the 2 MiB page holding the local APIC (0xFEE00000)");
            assertEquals(0xFFE0_0083L, memory.readU64(0xB000 + 8 * 2047), "the last 2 MiB below 4 GiB");
            assertEquals(0x5A5A5A5A5A5A5A5AL, memory.readU64(0xF000), "nothing written past the fourth directory");
            assertEquals(0x5A5A5A5A5A5A5A5AL, memory.readU64(0x8FF8), "nor below the PML4");
        }
    }

    @Test
    void theGdtHasBootCsAt0x10AndBootDsAt0x18() {
        try (Arena arena = Arena.ofConfined()) {
            GuestMemory memory = new GuestMemory(arena.allocate(1 << 20, 4096));
            LongModeBoot.writeGdt(memory);
            assertEquals(0, memory.readU64(0x500));
            assertEquals(0, memory.readU64(0x508));
            assertEquals(0x00AF9B000000FFFFL, memory.readU64(0x510), "__BOOT_CS: 64-bit (L) code, execute/read, present, DPL 0");
            assertEquals(0x00CF93000000FFFFL, memory.readU64(0x518), "__BOOT_DS: read/write data, flat 4 GiB");
            assertEquals(0x00008B0000000067L, memory.readU64(0x520), "64-bit busy TSS, limit 0x67 (low half)");
            assertEquals(0, memory.readU64(0x528), "its high half: base bits 32-63 zero");
        }
    }

    @Test
    void theVcpuIsInLongModeAtTheEntryWithRsiAtTheZeroPage() {
        try (Kvm kvm = Kvm.open(); VmFd vm = kvm.createVm(); VcpuFd vcpu = vm.createVcpu(0); Arena arena = Arena.ofConfined()) {
            LongModeBoot.setRegisters(vcpu, 0x1000200, 0x7000);
            MemorySegment sregs = vcpu.getSregs(arena);
            assertEquals(0x8000_0001L, kvm_sregs.cr0(sregs) & 0x8000_0001L, "CR0.PE and CR0.PG");
            assertEquals(0x20, kvm_sregs.cr4(sregs) & 0x20, "CR4.PAE");
            assertEquals(0, kvm_sregs.cr4(sregs) & (1 << 12), "CR4.LA57 clear: 4-level paging");
            assertEquals(0x500, kvm_sregs.efer(sregs) & 0x500, "EFER.LME and EFER.LMA");
            assertEquals(0x9000, kvm_sregs.cr3(sregs), "CR3 at the PML4");
            MemorySegment cs = kvm_sregs.cs(sregs);
            assertEquals(0x10, kvm_segment.selector(cs), "__BOOT_CS");
            assertEquals(1, kvm_segment.l(cs), "64-bit code");
            assertEquals(0, kvm_segment.db(cs), "D clear with L set");
            assertEquals(0, kvm_segment.dpl(cs), "CPL 0");
            assertEquals(0xB, kvm_segment.type(cs), "execute/read, accessed");
            for (MemorySegment data : new MemorySegment[] {kvm_sregs.ds(sregs), kvm_sregs.es(sregs), kvm_sregs.ss(sregs)}) {
                assertEquals(0x18, kvm_segment.selector(data), "__BOOT_DS");
                assertEquals(3, kvm_segment.type(data), "read/write data, accessed");
                assertEquals(0, kvm_segment.base(data));
            }
            assertEquals(0x20, kvm_segment.selector(kvm_sregs.tr(sregs)));
            assertEquals(0xB, kvm_segment.type(kvm_sregs.tr(sregs)), "64-bit busy TSS");
            assertEquals(0x500, kvm_dtable.base(kvm_sregs.gdt(sregs)));
            assertEquals(6 * 8 - 1, Short.toUnsignedInt(kvm_dtable.limit(kvm_sregs.gdt(sregs))));
            MemorySegment regs = vcpu.getRegs(arena);
            assertEquals(0x1000200, kvm_regs.rip(regs));
            assertEquals(0x7000, kvm_regs.rsi(regs));
            assertEquals(0, kvm_regs.rflags(regs) & 0x200, "interrupts off");
        }
    }
}
