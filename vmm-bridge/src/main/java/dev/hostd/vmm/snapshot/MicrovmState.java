package dev.hostd.vmm.snapshot;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The full state of a paused microVM, as saved in a snapshot state file. Guest RAM is not in it:
 * {@link #memory()} names the file beside it that holds RAM.
 *
 * <p>The lists are copied and unmodifiable; {@code metadata} keeps the caller's iteration order,
 * which is also the order in the file.
 */
public record MicrovmState(MachineState machine, MemoryState memory, VmState vm, List<VcpuState> vcpus,
        List<DeviceState> devices, Map<String, String> metadata) {

    public MicrovmState {
        Objects.requireNonNull(machine, "machine");
        Objects.requireNonNull(memory, "memory");
        Objects.requireNonNull(vm, "vm");
        vcpus = List.copyOf(vcpus);
        devices = List.copyOf(devices);
        LinkedHashMap<String, String> copy = new LinkedHashMap<>();
        metadata.forEach((k, v) -> copy.put(Objects.requireNonNull(k, "metadata key"),
                Objects.requireNonNull(v, "metadata value")));
        metadata = Collections.unmodifiableMap(copy);
    }
}
