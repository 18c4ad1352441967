package dev.hostd.vmm.machine;

import dev.hostd.vmm.testing.TinyGuests;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hostd.vmm.VmmException;
import dev.hostd.vmm.internal.linux.kvm_regs;
import dev.hostd.vmm.kvm.Kvm;
import dev.hostd.vmm.testing.SharedKvm;
import dev.hostd.vmm.memory.MemoryFile;
import dev.hostd.vmm.snapshot.MemoryState;
import dev.hostd.vmm.snapshot.MicrovmState;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The engine on the real /dev/kvm, with tiny assembly guests. */
@Timeout(value = 60, unit = TimeUnit.SECONDS) // a hang guard, not a performance assertion
class MicroVmTest {
    static final Kvm kvm = SharedKvm.get();

    @TempDir
    Path dir;


    private MicroVm boot(String asm) throws Exception {
        byte[] elf = TinyGuests.build(dir, "guest", asm);
        MachineConfig config = MachineConfig.userElf(16);
        MemoryFile file = MemoryFile.anonymous("test", config.memoryBytes());
        try (file) {
            return MicroVm.boot("t", kvm, config, file.mapShared(), elf);
        }
    }

    @Test
    void guestPanicIsReportedWithItsCodeAndConsole() throws Exception {
        try (MicroVm vm = boot(TinyGuests.print("hi\n") + "  mov $0x511, %dx\n  mov $42, %eax\n  out %eax, %dx\n1: jmp 1b")) {
            vm.resume();
            CompletionException e = assertThrows(CompletionException.class, () -> vm.stopped().join());
            VmmException cause = (VmmException) e.getCause();
            assertEquals(VmmException.Kind.GUEST_FAILURE, cause.kind());
            assertTrue(cause.getMessage().contains("code 42"), cause.getMessage());
            assertTrue(cause.getMessage().contains("hi"), cause.getMessage());
            assertEquals("hi\n", vm.console().text());
        }
    }

    @Test
    void tripleFaultIsAGuestCrash() throws Exception {
        try (MicroVm vm = boot("  ud2")) {
            vm.resume();
            CompletionException e = assertThrows(CompletionException.class, () -> vm.stopped().join());
            assertTrue(e.getCause().getMessage().contains("triple fault"), e.getCause().getMessage());
        }
    }

    @Test
    void aSpinningGuestIsPausedByTheKickAndResumes() throws Exception {
        // rbx counts loop iterations; the guest never exits on its own.
        try (MicroVm vm = boot("  xor %rbx, %rbx\n1: inc %rbx\n  jmp 1b")) {
            long first = runUntilCountPasses(vm, 0);
            assertEquals(first, rbx(vm), "a paused guest does not run");
            runUntilCountPasses(vm, first);
        }
    }

    /**
     * Resumes and pauses the counting guest until its rbx is past {@code count}: on a loaded host the vCPU
     * thread may not get a CPU between one resume and the next pause, so a single short run proves nothing.
     * Returns rbx, read while paused.
     */
    private static long runUntilCountPasses(MicroVm vm, long count) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30); // a hang guard
        long now;
        do {
            vm.resume();
            Thread.sleep(10);
            vm.pause();
            now = rbx(vm);
        } while (now <= count && System.nanoTime() - end < 0);
        assertTrue(now > count, "the guest ran after resume: rbx " + now + ", was " + count);
        return now;
    }

    @Test
    void aGuestParkedOnTheWaitPortIsPausedAndItsStateSaved() throws Exception {
        try (MicroVm vm = boot(TinyGuests.print("w") + "  mov $0x510, %dx\n1: out %al, %dx\n  jmp 1b")) {
            vm.resume();
            // Wait for the park itself: having seen the "w" only means the guest is somewhere after its print.
            vm.awaitIdle(java.time.Duration.ofSeconds(30));
            vm.pause();
            MicrovmState state = vm.saveState(new MemoryState("memory", vm.config().memoryBytes(), 0), Map.of("k", "v"));
            assertEquals(1, state.vcpus().size());
            assertEquals(2, state.devices().size());
            long rip = MemorySegment.ofArray(state.vcpus().getFirst().regs()).get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, kvm_regs.RIP_OFFSET);
            // 7 bytes print "w", 4 load the port, 1 is the out: the saved rip is past the out, so the
            // pending I/O was completed before the state was read.
            assertEquals(12, rip & 0xFFF, "rip after the wait-port out: " + Long.toHexString(rip));
        }
    }

    @Test
    void withAnInKernelIrqchipTheVmStateRoundTripsThroughARestore() throws Exception {
        // The guest prints 'a', then on every return from the wait port prints 'b' and waits again.
        byte[] elf = TinyGuests.build(dir, "irq", TinyGuests.print("a") + "  mov $0x510, %dx\n1: out %al, %dx\n"
                + "  mov $0x3f8, %dx\n  mov $98, %al\n  out %al, %dx\n  mov $0x510, %dx\n  jmp 1b");
        MachineConfig config = new MachineConfig(16 << 20, 1, true, 4096, MachineConfig.USER_ELF);
        try (MemoryFile file = MemoryFile.anonymous("irq", config.memoryBytes())) {
            MicrovmState saved;
            try (MicroVm vm = MicroVm.boot("irq", kvm, config, file.mapShared(), elf)) {
                vm.resume();
                vm.awaitIdle(java.time.Duration.ofSeconds(10));
                vm.pause();
                saved = vm.saveState(new MemoryState("memory", config.memoryBytes(), 0), Map.of());
            }
            assertTrue(saved.machine().irqchip());
            assertEquals(520, saved.vm().picMaster().length);
            assertEquals(520, saved.vm().ioapic().length);
            assertEquals(112, saved.vm().pit2().length);
            assertEquals(1024, saved.vcpus().getFirst().lapic().length);

            RestoreImage image = RestoreImage.prepare(saved);
            try (MicroVm clone = MicroVm.restore("irq-clone", VmShell.withMemory(kvm, true, file.mapPrivate()), image, 4096)) {
                MicrovmState again = clone.saveState(new MemoryState("memory", config.memoryBytes(), 0), Map.of());
                assertArrayEquals(saved.vm().picMaster(), again.vm().picMaster(), "PIC restored");
                assertArrayEquals(saved.vm().ioapic(), again.vm().ioapic(), "IOAPIC restored");
                assertArrayEquals(saved.vcpus().getFirst().regs(), again.vcpus().getFirst().regs(), "registers restored");
                assertArrayEquals(saved.vcpus().getFirst().sregs(), again.vcpus().getFirst().sregs(), "segment registers restored");
                clone.resume();
                // The restored guest continues where the saved one stopped: after its wait, it prints 'b'.
                while (!clone.console().text().contains("b")) {
                    Thread.onSpinWait();
                    if (clone.stopped().isDone()) {
                        clone.stopped().join();
                    }
                }
            }
        }
    }

    private static long rbx(MicroVm vm) {
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            return kvm_regs.rbx(vm.vcpuForTest().getRegs(arena));
        }
    }
}
