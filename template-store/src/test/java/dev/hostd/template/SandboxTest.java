package dev.hostd.template;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.hostd.vmm.agent.AgentEndpoint;
import dev.hostd.vmm.agent.IdentityReport;
import dev.hostd.vmm.device.net.NetStats;
import dev.hostd.vmm.device.serial.ConsoleLog;
import dev.hostd.vmm.machine.GuestVm;
import dev.hostd.vmm.machine.MicroVm;
import dev.hostd.vmm.machine.VcpuThreadBinding;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A sandbox drives its VM only through {@link GuestVm}, so a Linux VM serves it as the test guest's
 * does: a fake VM records what the sandbox asks of it (the real VMs: CloneIT, LinuxTemplateIT).
 */
class SandboxTest {
    static final class FakeVm implements GuestVm {
        final List<String> calls = new ArrayList<>();
        final ConsoleLog console = new ConsoleLog(1024);
        MicroVm.State state = MicroVm.State.RUNNING;

        @Override public String name() { return "fake"; }
        @Override public AgentEndpoint agent() { throw new UnsupportedOperationException(); }
        @Override public ConsoleLog console() { return console; }
        @Override public MicroVm.State state() { return state; }
        @Override public void pause() { calls.add("pause"); state = MicroVm.State.PAUSED; }
        @Override public void resume() { calls.add("resume"); state = MicroVm.State.RUNNING; }
        @Override public CompletableFuture<?> stopped() { return new CompletableFuture<Void>(); }
        @Override public long privateMemoryBytes() { return 3 * 4096; }
        @Override public int[] vcpuThreadIds() { return new int[] {11, 12}; }
        @Override public void bindVcpuThreads(VcpuThreadBinding binding) { calls.add("bind"); }
        @Override public Optional<NetStats> netStats() { return Optional.empty(); }
        @Override public void close() { calls.add("close"); state = MicroVm.State.STOPPED; }
    }

    @Test
    void pauseResumeFiguresAndAnIdempotentCloseGoThroughTheInterface() {
        FakeVm vm = new FakeVm();
        AtomicInteger released = new AtomicInteger();
        IdentityReport report = null; // not read by these operations
        Sandbox s = new Sandbox(vm, "linux-tpl", TestIdentities.number(7), report, released::incrementAndGet);
        s.pause();
        assertEquals(MicroVm.State.PAUSED, s.state());
        s.resume();
        assertEquals(MicroVm.State.RUNNING, s.state());
        assertEquals(3 * 4096, s.privateMemoryBytes());
        assertArrayEquals(new int[] {11, 12}, s.vcpuThreadIds(), "every vCPU thread of a multi-vCPU guest");
        assertSame(vm.console, s.console());
        s.close();
        s.close();
        assertEquals(List.of("pause", "resume", "close"), vm.calls, "closed once");
        assertEquals(1, released.get(), "the identity is released once");
        assertEquals(MicroVm.State.STOPPED, s.state());
    }
}
