package dev.hostd.vmm.machine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.hostd.vmm.internal.linux.kvm_cpuid_entry2;
import dev.hostd.vmm.kvm.Kvm;
import dev.hostd.vmm.loader.linux.LinuxCpuid;
import dev.hostd.vmm.memory.GuestMemory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A guest's armed TSC-deadline timer survives a snapshot: Linux runs its clock events on it, so a
 * clone that lost it would sleep until some other interrupt came. The tiny guest takes vector
 * 0x40 from its LAPIC timer in TSC-deadline mode, arms it about 4 s of TSC ahead and spins; the
 * test snapshots it at once, and both the original and a clone must then take that interrupt.
 * (KVM ignores the deadline MSR while the LAPIC's timer is not in that mode, which is the case
 * when a restore writes the MSRs before the LAPIC: VcpuRestore writes it again after.)
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS) // a hang guard
class LinuxVmTimerSnapshotTest {
    static final long ARMED = 0x9300, SPINS = 0x9304, TICKS = 0x9308;
    /** CPUID.1:ECX bit 24. */
    static final int ECX_TSC_DEADLINE = 1 << 24;

    static final String GUEST = """
                mov $0x10000, %esp
                mov $handler, %eax          /* IDT at 0x9400: vector 0x40 only, a 32-bit interrupt gate */
                movw %ax, 0x9600
                movw $0x08, 0x9602
                movw $0x8E00, 0x9604
                shr $16, %eax
                movw %ax, 0x9606
                lidt idtr
                orl $0x100, 0xFEE000F0      /* SVR: APIC software enable */
                movl $0x00040040, 0xFEE00320 /* LVT timer: vector 0x40, TSC-deadline mode */
                rdtsc
                add $2, %edx                /* deadline: now + 2^33 cycles, seconds away */
                mov $0x6E0, %ecx            /* IA32_TSC_DEADLINE */
                wrmsr
                movl $1, 0x9300             /* armed */
                sti
            1:  incl 0x9304
                jmp 1b
            handler:
                incl 0x9308
                movl $0, 0xFEE000B0         /* EOI */
                iret
            .balign 8
            idtr:
                .word 256 * 8 - 1
                .long 0x9400
            """;

    @TempDir
    Path dir;

    @Test
    void anArmedTscDeadlineFiresInTheOriginalAndInTheClone() throws Exception {
        try (Kvm kvm = Kvm.open()) {
            assumeTrue(guestHasTscDeadline(kvm), "KVM offers no TSC-deadline timer in its CPUID here");
            byte[] elf = TinyPvhGuests.build(dir, "deadline", GUEST);
            Path snap = Files.createDirectory(dir.resolve("snap"));
            try (LinuxVm vm = LinuxVm.bootVmlinux("deadline-orig", kvm, elf, "", 64, 1)) {
                GuestMemory m = vm.memory();
                await(() -> m.readU32(ARMED) == 1, vm, "the guest armed its deadline");
                vm.snapshot(snap);
                assertEquals(0, fileU32(snap.resolve("memory"), TICKS),
                        "snapshot taken before the deadline (2^33 cycles after arming): the clone has it still to come");
                vm.resume();
                try (LinuxVm clone = LinuxVm.restore("deadline-clone", kvm, snap, null)) {
                    GuestMemory c = clone.memory();
                    int spins = c.readU32(SPINS);
                    await(() -> c.readU32(SPINS) != spins, clone, "the clone runs");
                    await(() -> m.readU32(TICKS) == 1, vm, "the original takes its timer interrupt");
                    await(() -> c.readU32(TICKS) == 1, clone, "the clone takes the timer interrupt armed before the snapshot");
                    assertTrue(c.readU32(SPINS) != spins);
                }
            }
        }
    }

    private static boolean guestHasTscDeadline(Kvm kvm) {
        ByteBuffer b = ByteBuffer.wrap(LinuxCpuid.forGuest(kvm.supportedCpuidEntries(), 0)).order(ByteOrder.nativeOrder());
        int size = (int) kvm_cpuid_entry2.sizeof();
        for (int at = 0; at + size <= b.capacity(); at += size) {
            if (b.getInt(at + (int) kvm_cpuid_entry2.FUNCTION_OFFSET) == 1) {
                return (b.getInt(at + (int) kvm_cpuid_entry2.ECX_OFFSET) & ECX_TSC_DEADLINE) != 0;
            }
        }
        return false;
    }

    private static int fileU32(Path file, long at) throws Exception {
        try (var ch = java.nio.channels.FileChannel.open(file)) {
            ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(b, at);
            return b.getInt(0);
        }
    }

    /** Waits for {@code condition}; fails if the VM stops first or after 60 s (a hang guard, not a time assertion). */
    private static void await(BooleanSupplier condition, LinuxVm vm, String what) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!condition.getAsBoolean()) {
            if (vm.stopped().isDone()) {
                fail("VM " + vm.name() + " stopped before " + what + "; console: " + vm.console().text());
            }
            if (System.nanoTime() > deadline) {
                fail("hang guard: not " + what);
            }
            Thread.sleep(5);
        }
    }
}
