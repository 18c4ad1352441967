package dev.hostd.vmm.loader;

import dev.hostd.vmm.kvm.VcpuFd;
import dev.hostd.vmm.internal.linux.kvm_dtable;
import dev.hostd.vmm.internal.linux.kvm_regs;
import dev.hostd.vmm.internal.linux.kvm_segment;
import dev.hostd.vmm.internal.linux.kvm_sregs;
import dev.hostd.vmm.memory.GuestMemory;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The machine state in which a user-mode guest starts (docs/guest-abi.md): identity-mapped page
 * tables with user 2 MiB pages, a GDT with 64-bit user segments, long mode at CPL 3 with IOPL 3.
 * On PVM hosts this is what runs natively; on VMX/SVM it runs just as well.
 */
public final class UserModeBoot {
    private static final long PTE_PRESENT_RW_USER = 0x7, PDE_LARGE = 0x80, PDE_UNCACHED = 0x18;
    private static final long[] GDT = {
        0,
        0x00AF9B000000FFFFL, // kernel code (unused, CPL 0 is slow here)
        0x00CF93000000FFFFL, // kernel data
        0x00AFFB000000FFFFL, // user code, 64-bit, DPL 3
        0x00CFF3000000FFFFL, // user data, DPL 3
    };
    private static final int USER_CS = 0x1B, USER_DS = 0x23;
    private static final long CR0_PE = 1, CR0_MP = 2, CR0_ET = 0x10, CR0_NE = 0x20, CR0_PG = 0x8000_0000L;
    private static final long CR4_PAE = 0x20, CR4_OSFXSR = 0x200, CR4_OSXMMEXCPT = 0x400;
    private static final long EFER_LME = 0x100, EFER_LMA = 0x400;
    private static final long RFLAGS_IOPL3 = 0x3002;

    private UserModeBoot() {}

    /** Writes page tables, GDT and boot info into {@code memory}. */
    public static void writeTables(GuestMemory memory, BootInfo bootInfo) {
        memory.writeU64(GuestLayout.PML4, GuestLayout.PDPT | PTE_PRESENT_RW_USER);
        memory.writeU64(GuestLayout.PDPT, GuestLayout.PD_LOW | PTE_PRESENT_RW_USER);
        long ramPages = Math.min(memory.size(), GuestLayout.MAX_USER_MODE_RAM) / GuestLayout.PAGE_2M;
        for (long i = 0; i < ramPages; i++) {
            memory.writeU64(GuestLayout.PD_LOW + 8 * i, (i * GuestLayout.PAGE_2M) | PDE_LARGE | PTE_PRESENT_RW_USER);
        }
        // The MMIO window lies in the fourth GiB: a second page directory, uncached, not RAM.
        long gib3 = 3L << 30;
        memory.writeU64(GuestLayout.PDPT + 8 * 3, GuestLayout.PD_MMIO | PTE_PRESENT_RW_USER);
        long pde = (GuestLayout.MMIO_BASE - gib3) / GuestLayout.PAGE_2M;
        memory.writeU64(GuestLayout.PD_MMIO + 8 * pde, GuestLayout.MMIO_BASE | PDE_LARGE | PDE_UNCACHED | PTE_PRESENT_RW_USER);
        for (int i = 0; i < GDT.length; i++) {
            memory.writeU64(GuestLayout.GDT + 8L * i, GDT[i]);
        }
        bootInfo.write(memory);
    }

    /** Puts the vCPU in 64-bit user mode at {@code entry}. */
    public static void setRegisters(VcpuFd vcpu, long entry) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sregs = vcpu.getSregs(arena);
            userSegment(kvm_sregs.cs(sregs), USER_CS, 11, true);
            for (MemorySegment data : new MemorySegment[] {kvm_sregs.ds(sregs), kvm_sregs.es(sregs), kvm_sregs.fs(sregs),
                    kvm_sregs.gs(sregs), kvm_sregs.ss(sregs)}) {
                userSegment(data, USER_DS, 3, false);
            }
            MemorySegment gdt = kvm_sregs.gdt(sregs);
            kvm_dtable.base(gdt, GuestLayout.GDT);
            kvm_dtable.limit(gdt, (short) (GDT.length * 8 - 1));
            kvm_sregs.cr3(sregs, GuestLayout.PML4);
            kvm_sregs.cr4(sregs, CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT);
            kvm_sregs.cr0(sregs, CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_PG);
            kvm_sregs.efer(sregs, EFER_LME | EFER_LMA);
            vcpu.setSregs(sregs);

            MemorySegment regs = arena.allocate(kvm_regs.LAYOUT);
            kvm_regs.rip(regs, entry);
            kvm_regs.rflags(regs, RFLAGS_IOPL3);
            kvm_regs.rdi(regs, GuestLayout.BOOT_INFO);
            vcpu.setRegs(regs);
        }
    }

    private static void userSegment(MemorySegment seg, int selector, int type, boolean code) {
        kvm_segment.base(seg, 0);
        kvm_segment.limit(seg, 0xFFFF_FFFF);
        kvm_segment.selector(seg, (short) selector);
        kvm_segment.type(seg, (byte) type);
        kvm_segment.present(seg, (byte) 1);
        kvm_segment.dpl(seg, (byte) 3);
        kvm_segment.db(seg, (byte) (code ? 0 : 1));
        kvm_segment.s(seg, (byte) 1);
        kvm_segment.l(seg, (byte) (code ? 1 : 0));
        kvm_segment.g(seg, (byte) 1);
        kvm_segment.unusable(seg, (byte) 0);
    }
}
