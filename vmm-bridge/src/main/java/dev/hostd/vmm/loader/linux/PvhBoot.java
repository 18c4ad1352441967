package dev.hostd.vmm.loader.linux;

import dev.hostd.vmm.internal.linux.kvm_dtable;
import dev.hostd.vmm.internal.linux.kvm_regs;
import dev.hostd.vmm.internal.linux.kvm_segment;
import dev.hostd.vmm.internal.linux.kvm_sregs;
import dev.hostd.vmm.kvm.VcpuFd;
import dev.hostd.vmm.memory.GuestMemory;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The vCPU state the PVH boot ABI asks for (Xen's docs/misc/pvh.pandoc, "x86/HVM direct boot
 * ABI"): 32-bit protected mode with paging off, flat 4 GiB code and data segments, a 32-bit TSS
 * in TR, CR0.PE only, CR4 and EFER zero, interrupts off, EBX = the hvm_start_info address.
 */
public final class PvhBoot {
    /** Null, flat 32-bit code (0x08), flat data (0x10), 32-bit busy TSS (0x18): as Firecracker's PVH GDT. */
    static final long[] GDT = {0, 0x00CF9B000000FFFFL, 0x00CF93000000FFFFL, 0x00008B0000000067L};
    static final int CODE_SELECTOR = 0x08, DATA_SELECTOR = 0x10, TSS_SELECTOR = 0x18;
    static final long CR0_PE = 1;
    /** Bit 1 of RFLAGS is always one; IF clear. */
    static final long RFLAGS_RESERVED = 2;

    private PvhBoot() {}

    public static void writeGdt(GuestMemory memory) {
        for (int i = 0; i < GDT.length; i++) {
            memory.writeU64(LinuxLayout.GDT + 8L * i, GDT[i]);
        }
    }

    /** Puts {@code vcpu} at {@code entry} with EBX = {@code startInfo}. */
    public static void setRegisters(VcpuFd vcpu, long entry, long startInfo) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sregs = vcpu.getSregs(arena);
            FlatSegment.set(kvm_sregs.cs(sregs), CODE_SELECTOR, 0xB, true, 0xFFFF_FFFF);
            for (MemorySegment data : new MemorySegment[] {kvm_sregs.ds(sregs), kvm_sregs.es(sregs), kvm_sregs.fs(sregs),
                    kvm_sregs.gs(sregs), kvm_sregs.ss(sregs)}) {
                FlatSegment.set(data, DATA_SELECTOR, 0x3, true, 0xFFFF_FFFF);
            }
            MemorySegment tr = kvm_sregs.tr(sregs);
            FlatSegment.set(tr, TSS_SELECTOR, 0xB, false, 0x67);
            kvm_segment.s(tr, (byte) 0); // a system segment
            kvm_segment.db(tr, (byte) 0);
            kvm_segment.g(tr, (byte) 0);
            MemorySegment gdt = kvm_sregs.gdt(sregs);
            kvm_dtable.base(gdt, LinuxLayout.GDT);
            kvm_dtable.limit(gdt, (short) (GDT.length * 8 - 1));
            kvm_sregs.cr0(sregs, CR0_PE);
            kvm_sregs.cr3(sregs, 0);
            kvm_sregs.cr4(sregs, 0);
            kvm_sregs.efer(sregs, 0);
            vcpu.setSregs(sregs);

            MemorySegment regs = arena.allocate(kvm_regs.LAYOUT);
            kvm_regs.rip(regs, entry);
            kvm_regs.rflags(regs, RFLAGS_RESERVED);
            kvm_regs.rbx(regs, startInfo);
            vcpu.setRegs(regs);
        }
    }
}
