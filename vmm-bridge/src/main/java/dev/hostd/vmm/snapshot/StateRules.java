package dev.hostd.vmm.snapshot;

import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * What makes a {@link MicrovmState} restorable, checked in one place: by the writer before a
 * state reaches disk and by the reader after it has been decoded from a file.
 */
final class StateRules {
    /** One broken rule; the writer turns it into IllegalArgumentException, the reader into SnapshotFormatException. */
    static final class Violation extends RuntimeException {
        Violation(String message) {
            super(message, null, false, false);
        }
    }

    private static final long PAGE = 4096;

    private StateRules() {}

    static void check(MicrovmState s) {
        MachineState m = s.machine();
        if (m.vcpuCount() < 1 || m.vcpuCount() > Limits.MAX_VCPUS) {
            throw new Violation("MACHINE: vcpuCount " + m.vcpuCount() + " is outside 1.." + Limits.MAX_VCPUS);
        }
        if (m.memoryBytes() <= 0 || m.memoryBytes() % PAGE != 0) {
            throw new Violation("MACHINE: memoryBytes " + m.memoryBytes() + " is not a positive multiple of 4096");
        }
        if (m.guestKind().isEmpty()) {
            throw new Violation("MACHINE: guestKind is empty");
        }
        checkMemory(s.memory(), m);
        checkVm(s.vm(), m.irqchip());
        checkVcpus(s.vcpus(), m);
        checkDevices(s.devices());
    }

    /** A plain name in the state file's directory: no path, no parent, nothing the shell or kernel treats specially. */
    static void checkFileName(String name) {
        if (name.isEmpty() || name.indexOf('/') >= 0 || name.indexOf('\\') >= 0 || name.indexOf('\0') >= 0
                || name.contains("..") || name.equals(".")) {
            throw new Violation("MEMORY: fileName \"" + name + "\" is not a plain file name "
                    + "(it must be non-empty, without '/', '\\', NUL or \"..\")");
        }
        if (name.getBytes(StandardCharsets.UTF_8).length > Limits.MAX_FILE_NAME_BYTES) {
            throw new Violation("MEMORY: fileName is longer than " + Limits.MAX_FILE_NAME_BYTES + " bytes");
        }
    }

    private static void checkMemory(MemoryState mem, MachineState m) {
        checkFileName(mem.fileName());
        if (mem.sizeBytes() != m.memoryBytes()) {
            throw new Violation("MEMORY: sizeBytes " + mem.sizeBytes() + " differs from MACHINE memoryBytes "
                    + m.memoryBytes());
        }
    }

    private static void checkVm(VmState vm, boolean irqchip) {
        size("VM", "clock", "kvm_clock_data", vm.clock(), KvmAbi.KVM_CLOCK_DATA_SIZE);
        irqchipPart("VM", "picMaster", "kvm_irqchip", vm.picMaster(), KvmAbi.KVM_IRQCHIP_SIZE, irqchip);
        irqchipPart("VM", "picSlave", "kvm_irqchip", vm.picSlave(), KvmAbi.KVM_IRQCHIP_SIZE, irqchip);
        irqchipPart("VM", "ioapic", "kvm_irqchip", vm.ioapic(), KvmAbi.KVM_IRQCHIP_SIZE, irqchip);
        irqchipPart("VM", "pit2", "kvm_pit_state2", vm.pit2(), KvmAbi.KVM_PIT_STATE2_SIZE, irqchip);
    }

    private static void checkVcpus(List<VcpuState> vcpus, MachineState m) {
        if (vcpus.size() != m.vcpuCount()) {
            throw new Violation("there are " + vcpus.size() + " vCPUs but MACHINE says vcpuCount " + m.vcpuCount());
        }
        for (int i = 0; i < vcpus.size(); i++) {
            VcpuState v = vcpus.get(i);
            if (v.index() != i) {
                throw new Violation("vCPU indices must be 0.." + (vcpus.size() - 1) + " in order, but position " + i
                        + " holds index " + v.index());
            }
            checkVcpu(v, m.irqchip());
        }
    }

    private static void checkVcpu(VcpuState v, boolean irqchip) {
        String w = "vCPU " + v.index();
        int cpuid = v.cpuidEntries().length;
        if (cpuid % KvmAbi.KVM_CPUID_ENTRY2_SIZE != 0
                || cpuid / KvmAbi.KVM_CPUID_ENTRY2_SIZE > KvmAbi.KVM_MAX_CPUID_ENTRIES) {
            throw new Violation(w + ": cpuidEntries is " + cpuid + " bytes, not a multiple of "
                    + KvmAbi.KVM_CPUID_ENTRY2_SIZE + " (kvm_cpuid_entry2) up to " + KvmAbi.KVM_MAX_CPUID_ENTRIES
                    + " entries");
        }
        size(w, "regs", "kvm_regs", v.regs(), KvmAbi.KVM_REGS_SIZE);
        size(w, "sregs", "kvm_sregs", v.sregs(), KvmAbi.KVM_SREGS_SIZE);
        int xsave = v.xsave().length;
        if (xsave < KvmAbi.KVM_XSAVE_SIZE || xsave % 4 != 0 || xsave > Limits.MAX_XSAVE_BYTES) {
            throw new Violation(w + ": xsave is " + xsave + " bytes; kvm_xsave needs at least "
                    + KvmAbi.KVM_XSAVE_SIZE + ", a multiple of 4, at most " + Limits.MAX_XSAVE_BYTES);
        }
        size(w, "xcrs", "kvm_xcrs", v.xcrs(), KvmAbi.KVM_XCRS_SIZE);
        size(w, "debugregs", "kvm_debugregs", v.debugregs(), KvmAbi.KVM_DEBUGREGS_SIZE);
        irqchipPart(w, "lapic", "kvm_lapic_state", v.lapic(), KvmAbi.KVM_LAPIC_STATE_SIZE, irqchip);
        size(w, "vcpuEvents", "kvm_vcpu_events", v.vcpuEvents(), KvmAbi.KVM_VCPU_EVENTS_SIZE);
        int[] idx = v.msrIndices();
        if (idx.length != v.msrValues().length) {
            throw new Violation(w + ": " + idx.length + " MSR indices but " + v.msrValues().length + " values");
        }
        if (idx.length > Limits.MAX_MSRS) {
            throw new Violation(w + ": " + idx.length + " MSRs, more than the limit of " + Limits.MAX_MSRS);
        }
        Set<Integer> seen = new HashSet<>();
        for (int msr : idx) {
            if (!seen.add(msr)) {
                throw new Violation(w + ": MSR " + String.format("0x%x", msr) + " appears twice");
            }
        }
        if (v.tscKhz() < 0) {
            throw new Violation(w + ": tscKhz " + v.tscKhz() + " is negative");
        }
    }

    private static void checkDevices(List<DeviceState> devices) {
        Set<String> names = new HashSet<>();
        for (DeviceState d : devices) {
            if (d.name().isEmpty() || d.kind().isEmpty()) {
                throw new Violation("DEVICE: a device has an empty name or kind (name \"" + d.name() + "\", kind \""
                        + d.kind() + "\")");
            }
            if (!names.add(d.name())) {
                throw new Violation("DEVICE: duplicate device name \"" + d.name() + "\"");
            }
        }
    }

    private static void size(String where, String field, String struct, byte[] bytes, int expected) {
        if (bytes.length != expected) {
            throw new Violation(where + ": " + field + " is " + bytes.length + " bytes, but struct " + struct + " is "
                    + expected);
        }
    }

    private static void irqchipPart(String where, String field, String struct, byte[] bytes, int expected,
            boolean irqchip) {
        if (!irqchip) {
            if (bytes != null) {
                throw new Violation(where + ": " + field + " is present but the machine has no in-kernel irqchip");
            }
        } else if (bytes == null) {
            throw new Violation(where + ": " + field + " is missing but the machine has an in-kernel irqchip");
        } else {
            size(where, field, struct, bytes, expected);
        }
    }
}
