package dev.hostd.vmm.machine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hostd.vmm.kvm.EventFd;
import dev.hostd.vmm.kvm.Kvm;
import dev.hostd.vmm.memory.MemoryFile;
import dev.hostd.vmm.testing.TinyGuests;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * KVM_IOEVENTFD on the real /dev/kvm: a guest's write to a queue-notify register is absorbed by
 * KVM and shows up as an eventfd count, with no exit to the VMM. Only KVM writes that eventfd (the
 * VMM ignores writes where no device sits), so the count is the kernel's.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS) // hang guard only
class IoeventfdTest {
    /** QueueNotify (offset 0x50) of virtio-mmio slot 7, where this VM has no device. */
    static final long NOTIFY = 0xD0000000L + 7 * 0x1000 + 0x50;

    @TempDir
    Path dir;

    @Test
    void aGuestNotifyWriteSignalsTheEventFdInsteadOfExiting() throws Exception {
        byte[] elf = TinyGuests.build(dir, "notify", "  mov $" + NOTIFY + ", %ebx\n  movl $3, (%rbx)\n  movl $3, (%rbx)\n"
                + TinyGuests.print("ok") + TinyGuests.PARK_FOREVER);
        MachineConfig config = MachineConfig.userElf(16);
        try (Kvm kvm = Kvm.open(); MemoryFile file = MemoryFile.anonymous("notify", config.memoryBytes());
             MicroVm vm = MicroVm.boot("notify", kvm, config, file.mapShared(), elf); EventFd notified = EventFd.create()) {
            vm.vmFdForTest().assignIoeventfd(notified, NOTIFY, 4);
            vm.resume();
            vm.awaitIdle(Duration.ofSeconds(20));
            assertTrue(vm.console().text().contains("ok"), "the guest went on after its writes: " + vm.console().text());
            assertEquals(2, notified.take(), "each notify write counted once, in the kernel");
            assertEquals(MicroVm.State.RUNNING, vm.state());
        }
    }
}
