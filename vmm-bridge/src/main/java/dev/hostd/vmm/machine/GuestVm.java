package dev.hostd.vmm.machine;

import dev.hostd.vmm.agent.AgentEndpoint;
import dev.hostd.vmm.device.net.NetStats;
import dev.hostd.vmm.device.serial.ConsoleLog;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * What a sandbox uses of its VM, whichever guest runs in it: the test guest's {@link MicroVm} or a
 * Linux guest's {@link LinuxVm}. Both talk to their guest through the same agent protocol, so a
 * sandbox (template-store) invokes, pauses, resumes, reads the console and closes either alike.
 */
public interface GuestVm extends AutoCloseable {
    String name();

    /** The host side of the guest agent's channel (HELLO with the identity report, invocations). */
    AgentEndpoint agent();

    ConsoleLog console();

    /** CREATED, RUNNING, PAUSED or STOPPED, the same states for every guest kind. */
    MicroVm.State state();

    /** Stops every vCPU out of the guest until {@link #resume()}. */
    void pause();

    void resume();

    /** Completes when the VM stops; exceptionally, with the reason, if the guest or a vCPU failed. */
    CompletableFuture<?> stopped();

    /** Guest-RAM bytes that are this VM's own (pages it wrote), from the page map. */
    long privateMemoryBytes();

    /** Linux thread ids of the vCPU threads still running, in vCPU order. */
    int[] vcpuThreadIds();

    /** Hands every vCPU thread to {@code binding} (e.g. a cgroup); the VM must be created or paused. */
    void bindVcpuThreads(VcpuThreadBinding binding);

    /** Counters of the network device, if the machine has one. */
    Optional<NetStats> netStats();

    /** Stops the VM and releases everything it holds. Idempotent. */
    @Override
    void close();
}
