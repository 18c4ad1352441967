package dev.hostd.vmm.snapshot;

import java.util.Map;

/** Turns a checked {@link MicrovmState} into the body of a state file (layout in docs/snapshot-format.md). */
final class StateEncoder {
    private static final int REQ = Tags.FLAG_REQUIRED;
    private static final int MACHINE_FLAG_IRQCHIP = 1;

    private StateEncoder() {}

    static byte[] encode(MicrovmState s) {
        LeWriter w = new LeWriter();
        machine(w, s.machine());
        memory(w, s.memory());
        vm(w, s.vm());
        for (VcpuState v : s.vcpus()) {
            vcpu(w, v);
        }
        for (DeviceState d : s.devices()) {
            int at = w.begin(Tags.DEVICE, REQ);
            w.string("device name", d.name()).string("device kind", d.kind()).bytes(d.data());
            w.end(at);
        }
        int at = w.begin(Tags.METADATA, 0);
        w.u32(s.metadata().size());
        for (Map.Entry<String, String> e : s.metadata().entrySet()) {
            w.string("metadata key", e.getKey()).string("metadata value of " + e.getKey(), e.getValue());
        }
        w.end(at);
        return w.toByteArray();
    }

    private static void machine(LeWriter w, MachineState m) {
        int at = w.begin(Tags.MACHINE, REQ);
        w.u32(m.vcpuCount()).u32(m.irqchip() ? MACHINE_FLAG_IRQCHIP : 0).u64(m.memoryBytes());
        w.string("guestKind", m.guestKind());
        w.end(at);
    }

    private static void memory(LeWriter w, MemoryState mem) {
        int at = w.begin(Tags.MEMORY, REQ);
        w.u64(mem.sizeBytes()).u32(mem.crc32c()).string("memory fileName", mem.fileName());
        w.end(at);
    }

    private static void vm(LeWriter w, VmState vm) {
        int at = w.begin(Tags.VM, REQ);
        w.record(Tags.CLOCK, REQ, vm.clock());
        optional(w, Tags.PIC_MASTER, vm.picMaster());
        optional(w, Tags.PIC_SLAVE, vm.picSlave());
        optional(w, Tags.IOAPIC, vm.ioapic());
        optional(w, Tags.PIT2, vm.pit2());
        w.end(at);
    }

    private static void vcpu(LeWriter w, VcpuState v) {
        int at = w.begin(Tags.VCPU, REQ);
        w.u32(v.index()).u32(v.mpState()).u64(v.tscKhz());
        w.record(Tags.CPUID, REQ, v.cpuidEntries());
        w.record(Tags.REGS, REQ, v.regs());
        w.record(Tags.SREGS, REQ, v.sregs());
        w.record(Tags.XSAVE, REQ, v.xsave());
        w.record(Tags.XCRS, REQ, v.xcrs());
        w.record(Tags.DEBUGREGS, REQ, v.debugregs());
        optional(w, Tags.LAPIC, v.lapic());
        int msrs = w.begin(Tags.MSRS, REQ);
        int[] idx = v.msrIndices();
        long[] val = v.msrValues();
        for (int i = 0; i < idx.length; i++) {
            w.u32(idx[i]).u32(0).u64(val[i]); // struct kvm_msr_entry
        }
        w.end(msrs);
        w.record(Tags.EVENTS, REQ, v.vcpuEvents());
        w.end(at);
    }

    /** Irqchip parts are absent, not empty, when the machine has no in-kernel irqchip. */
    private static void optional(LeWriter w, int tag, byte[] bytes) {
        if (bytes != null) {
            w.record(tag, REQ, bytes);
        }
    }
}
