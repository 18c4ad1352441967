package dev.hostd.vmm.machine;

import dev.hostd.vmm.VmmException;
import dev.hostd.vmm.device.serial.Serial8250;
import dev.hostd.vmm.device.serial.SerialState;
import dev.hostd.vmm.device.virtio.DeviceStateException;
import dev.hostd.vmm.device.virtio.VirtqueueException;
import dev.hostd.vmm.identity.Identity;
import dev.hostd.vmm.identity.IdentityPage;
import dev.hostd.vmm.kvm.VmFd;
import dev.hostd.vmm.memory.GuestMemory;
import dev.hostd.vmm.memory.GuestMemoryException;
import dev.hostd.vmm.memory.MemoryMapping;
import dev.hostd.vmm.memory.SparseRamWriter;
import dev.hostd.vmm.snapshot.DeviceState;
import dev.hostd.vmm.snapshot.MachineState;
import dev.hostd.vmm.snapshot.MemoryChecksum;
import dev.hostd.vmm.snapshot.MemoryState;
import dev.hostd.vmm.snapshot.MicrovmState;
import dev.hostd.vmm.snapshot.SnapshotFile;
import dev.hostd.vmm.snapshot.VcpuState;
import dev.hostd.vmm.snapshot.VmState;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * How a paused {@link LinuxVm} is saved to a snapshot directory and how a new one is loaded from
 * it: the parts of the VM are handed in, so LinuxVm itself only pauses, starts and owns.
 */
final class LinuxSnapshots {
    private static final SecureRandom RANDOM = new SecureRandom();

    private LinuxSnapshots() {}

    /**
     * Writes {@code dir/memory} (the RAM, all-zero pages as holes) and {@code dir/state}, whose
     * metadata is the boot layout's plus {@code extraMetadata}. Every vCPU must be paused. On failure the files this wrote are deleted.
     */
    static MicrovmState save(Path dir, VmFd vm, VcpuGroup vcpus, Serial8250 serial, LinuxDevices devices, MemoryMapping ram,
            LinuxBootLayout layout, java.util.Map<String, String> extraMetadata) {
        Path memoryFile = dir.resolve(LinuxSnapshot.MEMORY_FILE);
        Path stateFile = dir.resolve(LinuxSnapshot.STATE_FILE);
        if (!Files.isDirectory(dir)) {
            throw new VmmException(VmmException.Kind.INVALID_INPUT, "snapshot Linux guest", dir + " is not a directory");
        }
        if (Files.exists(memoryFile) || Files.exists(stateFile)) {
            throw new VmmException(VmmException.Kind.INVALID_INPUT, "snapshot Linux guest", dir + " holds a snapshot already");
        }
        java.util.Map<String, String> metadata = new java.util.LinkedHashMap<>(LinuxSnapshotLayout.metadata(layout, devices.slots()));
        for (var e : extraMetadata.entrySet()) {
            if (metadata.putIfAbsent(e.getKey(), e.getValue()) != null) {
                throw new VmmException(VmmException.Kind.INVALID_INPUT, "snapshot Linux guest",
                        "metadata key " + e.getKey() + " is the VMM's own (its linux.* keys describe the boot layout)");
            }
        }
        try {
            int[] msrIndices = vm.kvm().msrIndexList();
            List<VcpuState> vcpuStates = new ArrayList<>();
            byte[][] vsock = new byte[1][];
            VmState[] vmState = new VmState[1];
            // Everything inside the quiet section: a service pass meanwhile could fill a ring and raise an
            // irqfd whose edge would land in a LAPIC or the IOAPIC after they were captured, while RAM
            // and InterruptStatus said it was delivered.
            devices.whileQuiet(() -> {
                for (int i = 0; i < vcpus.size(); i++) {
                    vcpuStates.add(VcpuStates.capture(vcpus.fd(i), vcpus.cpuid(i), msrIndices, true));
                }
                vmState[0] = VmStates.capture(vm, true);
                vsock[0] = devices.saveVsockState();
                SparseRamWriter.write(ram, memoryFile);
            });
            List<DeviceState> deviceStates = List.of(
                    new DeviceState(LinuxSnapshot.SERIAL, LinuxSnapshot.SERIAL_KIND, serial.saveState().toBytes()),
                    new DeviceState(LinuxSnapshot.VSOCK, LinuxSnapshot.VSOCK_KIND, vsock[0]));
            MicrovmState state = new MicrovmState(
                    new MachineState(vcpus.size(), ram.size(), true, LinuxSnapshot.GUEST_KIND),
                    new MemoryState(LinuxSnapshot.MEMORY_FILE, ram.size(), MemoryChecksum.crc32c(memoryFile)),
                    vmState[0], vcpuStates, deviceStates,
                    metadata);
            SnapshotFile.write(stateFile, state);
            return state;
        } catch (IOException | RuntimeException e) {
            if (!(e instanceof java.nio.file.FileAlreadyExistsException)) { // else another writer's, made since the check above
                deleteQuietly(memoryFile); // ours: it did not exist before
            }
            if (e instanceof VmmException v) {
                throw v;
            }
            throw new VmmException(VmmException.Kind.INTERNAL, "snapshot Linux guest", "writing " + dir + " failed: " + e, e);
        }
    }

    /**
     * Loads {@code snapshot} into a new VM's kernel objects and devices, in KVM's order: the
     * irqchip, PIT and clock first, then each vCPU (CPUID, MSRs, registers, LAPIC, MP state,
     * events), then the devices. Then the clone's identity (if any) goes to the identity page as
     * the next generation, and the vsock tells the guest its connections are gone. The vCPUs have
     * not run yet.
     */
    static void load(LinuxSnapshot snapshot, VmFd vm, VcpuGroup vcpus, Serial8250 serial, LinuxDevices devices, GuestMemory memory,
            Identity identity) {
        MicrovmState state = snapshot.state();
        VmStates.restore(vm, state.vm());
        for (int i = 0; i < vcpus.size(); i++) {
            snapshot.vcpu(i).restore(vcpus.fd(i));
            vcpus.rememberCpuid(i, state.vcpus().get(i).cpuidEntries());
        }
        try {
            serial.restoreState(SerialState.fromBytes(snapshot.device(LinuxSnapshot.SERIAL).data()));
            devices.restoreVsockState(snapshot.device(LinuxSnapshot.VSOCK).data());
        } catch (DeviceStateException | IllegalArgumentException e) {
            throw new VmmException(VmmException.Kind.INVALID_INPUT, "restore Linux guest devices", e.getMessage(), e);
        }
        if (identity != null) {
            long at = snapshot.layout().identityPage();
            byte[] seed = new byte[IdentityPage.SEED_BYTES];
            RANDOM.nextBytes(seed);
            IdentityPage.write(memory, at, identity, IdentityPage.generation(memory, at) + 1, seed,
                    Instant.now().toEpochMilli() * 1_000_000L);
        }
        try {
            devices.transportReset(); // after the irqchip's restore, which would otherwise drop the edge
        } catch (VirtqueueException | GuestMemoryException e) { // the event ring in the saved RAM is not one
            throw new VmmException(VmmException.Kind.INVALID_INPUT, "restore Linux guest devices",
                    "the vsock's event queue in the snapshot is unusable: " + e.getMessage(), e);
        }
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException ignored) {
            // the caller sees the first error; a leftover file is refused by the next snapshot into dir
        }
    }
}
