package dev.hostd.vmm.machine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hostd.vmm.VmmException;
import dev.hostd.vmm.internal.linux.Libc;
import dev.hostd.vmm.kvm.Kvm;
import dev.hostd.vmm.memory.MemoryFile;
import dev.hostd.vmm.testing.TinyGuests;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** vCPU thread ids and the binding hook: bind before the guest runs, unbind on the vCPU thread itself when the VM closes. */
@Timeout(value = 60, unit = TimeUnit.SECONDS) // hang guard only
class VcpuThreadBindingTest {
    @TempDir
    Path dir;

    @Test
    void theVcpuThreadIsBoundWhileTheVmLivesAndUnbindsItselfOnClose() throws Exception {
        byte[] elf = TinyGuests.build(dir, "guest", "1: jmp 1b");
        List<String> events = new CopyOnWriteArrayList<>();
        int tid;
        try (Kvm kvm = Kvm.open(); MemoryFile file = MemoryFile.anonymous("t", 16 << 20)) {
            MicroVm vm = MicroVm.boot("bind", kvm, MachineConfig.userElf(16), file.mapShared(), elf);
            try (vm) {
                int[] ids = vm.vcpuThreadIds();
                assertEquals(1, ids.length);
                tid = ids[0];
                assertTrue(Files.isDirectory(Path.of("/proc/self/task/" + tid)), "a thread of this process");
                assertEquals("vcpu-bind", Files.readString(Path.of("/proc/self/task/" + tid + "/comm")).trim());
                VcpuThreadBinding binding = new VcpuThreadBinding() {
                    @Override
                    public void bind(int t) {
                        events.add("bind " + t);
                    }

                    @Override
                    public void unbind(int t) {
                        events.add("unbind " + t + " on " + Libc.gettid());
                    }
                };
                vm.bindVcpuThreads(binding);
                VmmException twice = assertThrows(VmmException.class, () -> vm.bindVcpuThreads(binding));
                assertTrue(twice.getMessage().contains("bound already"), twice.getMessage());
                vm.resume();
                vm.pause();
                assertArrayEquals(new int[] {tid}, vm.vcpuThreadIds(), "pause keeps the thread");
                assertEquals(List.of("bind " + tid), events);
            }
            assertEquals(List.of("bind " + tid, "unbind " + tid + " on " + tid), events, "unbound on the vCPU thread itself");
            assertArrayEquals(new int[0], vm.vcpuThreadIds());
            assertThrows(VmmException.class, () -> vm.bindVcpuThreads(null), "a stopped VM has no thread to bind");
        }
    }
}
