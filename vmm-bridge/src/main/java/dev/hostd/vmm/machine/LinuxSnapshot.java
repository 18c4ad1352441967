package dev.hostd.vmm.machine;

import dev.hostd.vmm.VmmException;
import dev.hostd.vmm.acpi.MmioSlot;
import dev.hostd.vmm.loader.GuestLayout;
import dev.hostd.vmm.memory.MemoryFile;
import dev.hostd.vmm.memory.MemoryMapping;
import dev.hostd.vmm.snapshot.DeviceState;
import dev.hostd.vmm.snapshot.MachineState;
import dev.hostd.vmm.snapshot.MemoryChecksum;
import dev.hostd.vmm.snapshot.MicrovmState;
import dev.hostd.vmm.snapshot.SnapshotFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * A Linux guest's snapshot directory opened for restores ({@link LinuxVm#restore}): the state
 * file read and checked once (guest kind {@value #GUEST_KIND}, shape, devices, layout, the memory
 * file's size and checksum), every vCPU's kernel structs made ready ({@link VcpuRestore}), and the
 * memory file held open read-only, which each clone maps copy-on-write. Shared by all clones of a
 * Basepoint; {@link #close()} closes the file (mappings made from it stay valid).
 */
public final class LinuxSnapshot implements AutoCloseable {
    public static final String GUEST_KIND = "linux";
    /** The files of a snapshot directory, as a test-guest template names them. */
    public static final String STATE_FILE = "state", MEMORY_FILE = "memory";
    static final String SERIAL = MicroVm.SERIAL, SERIAL_KIND = MicroVm.SERIAL_KIND;
    static final String VSOCK = MicroVm.VSOCK, VSOCK_KIND = MicroVm.VSOCK_KIND;

    private final MicrovmState state;
    private final LinuxBootLayout layout;
    private final List<VcpuRestore> vcpus;
    private final MemoryFile memory;

    private LinuxSnapshot(MicrovmState state, LinuxBootLayout layout, List<VcpuRestore> vcpus, MemoryFile memory) {
        this.state = state;
        this.layout = layout;
        this.vcpus = vcpus;
        this.memory = memory;
    }

    /** Reads and checks the snapshot in {@code dir}; anything wrong is INVALID_INPUT naming it, and nothing stays open. */
    public static LinuxSnapshot open(Path dir) {
        Path stateFile = dir.resolve(STATE_FILE);
        MicrovmState state;
        try {
            state = SnapshotFile.read(stateFile);
        } catch (NoSuchFileException e) {
            throw invalid(dir, "there is no state file " + stateFile);
        } catch (IOException e) {
            throw invalid(dir, e.getMessage());
        }
        LinuxBootLayout layout = check(dir, state);
        Path memoryPath = dir.resolve(state.memory().fileName());
        try {
            if (!Files.isRegularFile(memoryPath)) {
                throw invalid(dir, "there is no memory file " + memoryPath);
            }
            long size = Files.size(memoryPath);
            if (size != state.machine().memoryBytes()) {
                throw invalid(dir, "the memory file " + memoryPath + " is " + size + " bytes, the state says "
                        + state.machine().memoryBytes() + " (truncated or from another snapshot)");
            }
            int crc = MemoryChecksum.crc32c(memoryPath);
            if (crc != state.memory().crc32c()) {
                throw invalid(dir, String.format("the memory file %s has CRC32C %08x, the state says %08x (changed or from another snapshot)",
                        memoryPath, crc, state.memory().crc32c()));
            }
        } catch (IOException e) {
            throw invalid(dir, "cannot read the memory file " + memoryPath + ": " + e);
        }
        List<VcpuRestore> vcpus = state.vcpus().stream().map(VcpuRestore::new).toList();
        return new LinuxSnapshot(state, layout, vcpus, MemoryFile.openReadOnly(memoryPath));
    }

    /** What only a Linux snapshot of this VMM has; the snapshot format's own rules were checked by the reader. */
    private static LinuxBootLayout check(Path dir, MicrovmState state) {
        MachineState m = state.machine();
        if (!GUEST_KIND.equals(m.guestKind())) {
            throw invalid(dir, "it is a snapshot of a '" + m.guestKind() + "' guest, not of a Linux guest ('" + GUEST_KIND + "')");
        }
        if (!m.irqchip()) {
            throw invalid(dir, "its machine has no in-kernel irqchip; a Linux guest always has one");
        }
        if (m.vcpuCount() < 1 || m.vcpuCount() > LinuxVm.MAX_VCPUS) {
            throw invalid(dir, "it has " + m.vcpuCount() + " vCPUs, a Linux guest 1.." + LinuxVm.MAX_VCPUS);
        }
        long mib = m.memoryBytes() >> 20;
        if (m.memoryBytes() % (1 << 20) != 0 || mib < LinuxVm.MIN_MEMORY_MIB || m.memoryBytes() > GuestLayout.MMIO_BASE) {
            throw invalid(dir, "its " + m.memoryBytes() + " bytes of RAM are not a whole number of MiB in "
                    + LinuxVm.MIN_MEMORY_MIB + ".." + (GuestLayout.MMIO_BASE >> 20) + " MiB");
        }
        Set<String> devices = state.devices().stream().map(d -> d.name() + " (" + d.kind() + ")").collect(Collectors.toSet());
        Set<String> expected = Set.of(SERIAL + " (" + SERIAL_KIND + ")", VSOCK + " (" + VSOCK_KIND + ")");
        if (!devices.equals(expected)) {
            throw invalid(dir, "it has devices " + devices + ", a Linux guest has " + expected);
        }
        try {
            return LinuxSnapshotLayout.parse(state.metadata(), m.memoryBytes(), m.vcpuCount(),
                    List.of(MmioSlot.standard(LinuxDevices.VSOCK_SLOT)));
        } catch (IllegalArgumentException e) {
            throw invalid(dir, e.getMessage());
        }
    }

    public MicrovmState state() {
        return state;
    }

    /** What the saved guest was told at boot: every clone has the same. */
    public LinuxBootLayout layout() {
        return layout;
    }

    int vcpuCount() {
        return vcpus.size();
    }

    VcpuRestore vcpu(int index) {
        return vcpus.get(index);
    }

    DeviceState device(String name) {
        return state.devices().stream().filter(d -> d.name().equals(name)).findFirst().orElseThrow();
    }

    /** A copy-on-write view of the saved RAM for one clone; the clone owns it. */
    MemoryMapping mapPrivate() {
        return memory.mapPrivate();
    }

    @Override
    public void close() {
        memory.close();
    }

    private static VmmException invalid(Path dir, String problem) {
        return new VmmException(VmmException.Kind.INVALID_INPUT, "open Linux snapshot " + dir, problem);
    }
}
