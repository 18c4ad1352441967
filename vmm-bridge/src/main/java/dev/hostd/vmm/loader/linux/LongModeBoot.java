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
 * The vCPU state the x86 64-bit boot protocol asks for (Documentation/arch/x86/boot.rst, "64-bit
 * boot protocol"): long mode with paging on, an identity mapping of the kernel, the zero page and
 * the command line (here: all of the first 4 GiB, in 2 MiB pages), a GDT with {@code __BOOT_CS}
 * (0x10, 64-bit code) and {@code __BOOT_DS} (0x10 + 8, data), interrupts off, RSI = the zero page,
 * RIP = the load address + 0x200 (startup_64). The decompressor loads its own GDT, IDT and page
 * tables at once; these only have to carry it there.
 */
public final class LongModeBoot {
    /** Null, null, 64-bit code at __BOOT_CS 0x10, data at __BOOT_DS 0x18, then a 16-byte 64-bit busy TSS at 0x20. */
    static final long[] GDT = {0, 0, 0x00AF9B000000FFFFL, 0x00CF93000000FFFFL, 0x00008B0000000067L, 0};
    static final int BOOT_CS = 0x10, BOOT_DS = 0x18, TSS_SELECTOR = 0x20;
    static final long CR0_PE = 1, CR0_PG = 1L << 31;
    static final long CR4_PAE = 1 << 5;
    static final long EFER_LME = 1 << 8, EFER_LMA = 1 << 10;
    /** Bit 1 of RFLAGS is always one; IF clear. */
    static final long RFLAGS_RESERVED = 2;
    /** Present, writable; PS for a 2 MiB page in a page directory. */
    static final long PRESENT = 1, WRITABLE = 2, PAGE_SIZE_2M = 1 << 7;
    /** Four page directories of 512 entries of 2 MiB: the first 4 GiB. */
    static final int PAGE_DIRECTORIES = 4;

    private LongModeBoot() {}

    public static void writeGdt(GuestMemory memory) {
        for (int i = 0; i < GDT.length; i++) {
            memory.writeU64(LinuxLayout.GDT + 8L * i, GDT[i]);
        }
    }

    /**
     * Writes the PML4, PDPT and page directories at {@link LinuxLayout#PML4}: virtual = physical
     * for the first 4 GiB (RAM, the MMIO hole and the APIC pages alike; the kernel's own tables
     * decide caching later).
     */
    public static void writePageTables(GuestMemory memory) {
        memory.slice(LinuxLayout.PML4, LinuxLayout.PAGE_DIRECTORIES + PAGE_DIRECTORIES * 4096L - LinuxLayout.PML4).fill((byte) 0);
        memory.writeU64(LinuxLayout.PML4, LinuxLayout.PDPT | PRESENT | WRITABLE);
        for (int d = 0; d < PAGE_DIRECTORIES; d++) {
            long directory = LinuxLayout.PAGE_DIRECTORIES + d * 4096L;
            memory.writeU64(LinuxLayout.PDPT + 8L * d, directory | PRESENT | WRITABLE);
            for (int e = 0; e < 512; e++) {
                long physical = ((long) d * 512 + e) << 21;
                memory.writeU64(directory + 8L * e, physical | PRESENT | WRITABLE | PAGE_SIZE_2M);
            }
        }
    }

    /** Puts {@code vcpu} in long mode at {@code entry} with RSI = {@code zeroPage}; CR3 = {@link LinuxLayout#PML4}. */
    public static void setRegisters(VcpuFd vcpu, long entry, long zeroPage) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sregs = vcpu.getSregs(arena);
            FlatSegment.set(kvm_sregs.cs(sregs), BOOT_CS, 0xB, true, 0xFFFF_FFFF);
            kvm_segment.l(kvm_sregs.cs(sregs), (byte) 1); // 64-bit code: L set, D clear
            kvm_segment.db(kvm_sregs.cs(sregs), (byte) 0);
            for (MemorySegment data : new MemorySegment[] {kvm_sregs.ds(sregs), kvm_sregs.es(sregs), kvm_sregs.fs(sregs),
                    kvm_sregs.gs(sregs), kvm_sregs.ss(sregs)}) {
                FlatSegment.set(data, BOOT_DS, 0x3, true, 0xFFFF_FFFF);
            }
            MemorySegment tr = kvm_sregs.tr(sregs);
            FlatSegment.set(tr, TSS_SELECTOR, 0xB, false, 0x67);
            kvm_segment.db(tr, (byte) 0);
            kvm_segment.g(tr, (byte) 0);
            MemorySegment gdt = kvm_sregs.gdt(sregs);
            kvm_dtable.base(gdt, LinuxLayout.GDT);
            kvm_dtable.limit(gdt, (short) (GDT.length * 8 - 1));
            kvm_sregs.cr0(sregs, CR0_PE | CR0_PG);
            kvm_sregs.cr3(sregs, LinuxLayout.PML4);
            kvm_sregs.cr4(sregs, CR4_PAE);
            kvm_sregs.efer(sregs, EFER_LME | EFER_LMA);
            vcpu.setSregs(sregs);

            MemorySegment regs = arena.allocate(kvm_regs.LAYOUT);
            kvm_regs.rip(regs, entry);
            kvm_regs.rflags(regs, RFLAGS_RESERVED);
            kvm_regs.rsi(regs, zeroPage);
            vcpu.setRegs(regs);
        }
    }
}
