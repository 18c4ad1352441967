package dev.hostd.vmm.snapshot;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Turns a checksum-verified body back into a {@link MicrovmState}. A good checksum proves only that
 * the bytes are the ones written, not that the writer was honest: every length and count is still
 * checked here, and the result must pass {@link StateRules}.
 */
final class StateDecoder {
    private static final Set<Integer> VM_RECORDS =
            Set.of(Tags.CLOCK, Tags.PIC_MASTER, Tags.PIC_SLAVE, Tags.IOAPIC, Tags.PIT2);
    private static final Set<Integer> VCPU_RECORDS = Set.of(Tags.CPUID, Tags.REGS, Tags.SREGS, Tags.XSAVE,
            Tags.XCRS, Tags.DEBUGREGS, Tags.LAPIC, Tags.MSRS, Tags.EVENTS);
    private static final int MACHINE_FLAG_IRQCHIP = 1;

    private final Path file;
    private MachineState machine;
    private MemoryState memory;
    private VmState vm;
    private final List<VcpuState> vcpus = new ArrayList<>();
    private final List<DeviceState> devices = new ArrayList<>();
    private Map<String, String> metadata;

    private StateDecoder(Path file) {
        this.file = file;
    }

    /** Decodes {@code body}, whose first byte is at file offset {@code fileBase}. */
    static MicrovmState decode(Path file, byte[] body, long fileBase) throws SnapshotFormatException {
        StateDecoder d = new StateDecoder(file);
        d.sections(new LeReader(file, body, fileBase, 0, body.length, "body"));
        return d.finish();
    }

    private void sections(LeReader body) throws SnapshotFormatException {
        while (body.remaining() > 0) {
            long at = body.fileOffset();
            LeReader.Frame f = body.frame("section");
            String where = Tags.sectionName(f.tag()) + " section at offset " + at;
            LeReader p = body.payload(f, where);
            if (f.tag() == Tags.MACHINE) {
                once(machine, where);
                machine = machine(p);
            } else if (f.tag() == Tags.MEMORY) {
                once(memory, where);
                memory = memory(p);
            } else if (f.tag() == Tags.VM) {
                once(vm, where);
                vm = vm(p);
            } else if (f.tag() == Tags.VCPU) {
                vcpus.add(vcpu(p));
            } else if (f.tag() == Tags.DEVICE) {
                devices.add(new DeviceState(p.string("device name"), p.string("device kind"),
                        p.bytes(p.remaining(), "device data")));
            } else if (f.tag() == Tags.METADATA) {
                once(metadata, where);
                metadata = metadata(p);
            } else if (f.required()) {
                throw body.fail("unknown required section " + Tags.describe(f.tag()) + " at offset " + at
                        + ": it was written by a newer hostd whose state this one cannot restore");
            }
            // An unknown optional section is skipped: the frame already stepped over it.
        }
    }

    private MicrovmState finish() throws SnapshotFormatException {
        missing(machine, "MACHINE");
        missing(memory, "MEMORY");
        missing(vm, "VM");
        try {
            MicrovmState s = new MicrovmState(machine, memory, vm, vcpus, devices,
                    metadata == null ? Map.of() : metadata);
            StateRules.check(s);
            return s;
        } catch (StateRules.Violation v) {
            throw new SnapshotFormatException(file, v.getMessage());
        }
    }

    private MachineState machine(LeReader p) throws SnapshotFormatException {
        int vcpuCount = p.u32("vcpuCount");
        int flags = p.u32("machine flags");
        if ((flags & ~MACHINE_FLAG_IRQCHIP) != 0) {
            throw p.fail(String.format("unknown machine flags 0x%08x", flags));
        }
        long memoryBytes = p.u64("memoryBytes");
        String guestKind = p.string("guestKind");
        p.expectEnd();
        return new MachineState(vcpuCount, memoryBytes, (flags & MACHINE_FLAG_IRQCHIP) != 0, guestKind);
    }

    private static MemoryState memory(LeReader p) throws SnapshotFormatException {
        long size = p.u64("memory sizeBytes");
        int crc = p.u32("memory crc32c");
        String name = p.string("memory fileName");
        p.expectEnd();
        return new MemoryState(name, size, crc);
    }

    private static VmState vm(LeReader p) throws SnapshotFormatException {
        Map<Integer, byte[]> r = records(p, VM_RECORDS);
        return new VmState(need(p, r, Tags.CLOCK), r.get(Tags.PIC_MASTER), r.get(Tags.PIC_SLAVE),
                r.get(Tags.IOAPIC), r.get(Tags.PIT2));
    }

    private static VcpuState vcpu(LeReader p) throws SnapshotFormatException {
        int index = p.u32("vCPU index");
        int mpState = p.u32("mpState");
        long tscKhz = p.u64("tscKhz");
        Map<Integer, byte[]> r = records(p, VCPU_RECORDS);
        byte[] msrs = need(p, r, Tags.MSRS);
        if (msrs.length % KvmAbi.KVM_MSR_ENTRY_SIZE != 0
                || msrs.length / KvmAbi.KVM_MSR_ENTRY_SIZE > Limits.MAX_MSRS) {
            throw p.fail("MSRS record is " + msrs.length + " bytes, not a multiple of " + KvmAbi.KVM_MSR_ENTRY_SIZE
                    + " (kvm_msr_entry) up to " + Limits.MAX_MSRS + " entries");
        }
        int n = msrs.length / KvmAbi.KVM_MSR_ENTRY_SIZE;
        int[] indices = new int[n];
        long[] values = new long[n];
        ByteBuffer m = ByteBuffer.wrap(msrs).order(ByteOrder.LITTLE_ENDIAN); // n whole struct kvm_msr_entry
        for (int i = 0; i < n; i++) {
            indices[i] = m.getInt();
            if (m.getInt() != 0) {
                throw p.fail("MSR " + String.format("0x%x", indices[i]) + " has a non-zero reserved field");
            }
            values[i] = m.getLong();
        }
        return new VcpuState(index, need(p, r, Tags.CPUID), need(p, r, Tags.REGS), need(p, r, Tags.SREGS),
                need(p, r, Tags.XSAVE), need(p, r, Tags.XCRS), need(p, r, Tags.DEBUGREGS), r.get(Tags.LAPIC),
                indices, values, need(p, r, Tags.EVENTS), mpState, tscKhz);
    }

    private static Map<String, String> metadata(LeReader p) throws SnapshotFormatException {
        long count = Integer.toUnsignedLong(p.u32("metadata count"));
        Map<String, String> out = new LinkedHashMap<>();
        for (long i = 0; i < count; i++) { // each pair takes at least 8 bytes, so a huge count runs out of bytes
            String key = p.string("metadata key");
            String value = p.string("metadata value");
            if (out.put(key, value) != null) {
                throw p.fail("duplicate metadata key \"" + key + "\"");
            }
        }
        p.expectEnd();
        return out;
    }

    /** The nested records of a VM or VCPU section, each known tag at most once. */
    private static Map<Integer, byte[]> records(LeReader p, Set<Integer> known) throws SnapshotFormatException {
        Map<Integer, byte[]> out = new HashMap<>();
        while (p.remaining() > 0) {
            long at = p.fileOffset();
            LeReader.Frame f = p.frame("record");
            if (known.contains(f.tag())) {
                if (out.put(f.tag(), p.payload(f, "").bytes(f.length(), "")) != null) {
                    throw p.fail("record " + Tags.describe(f.tag()) + " appears twice (again at offset " + at + ")");
                }
            } else if (f.required()) {
                throw p.fail("unknown required record " + Tags.describe(f.tag()) + " at offset " + at
                        + ": it was written by a newer hostd whose state this one cannot restore");
            }
        }
        return out;
    }

    private static byte[] need(LeReader p, Map<Integer, byte[]> records, int tag) throws SnapshotFormatException {
        byte[] b = records.get(tag);
        if (b == null) {
            throw p.fail("required record " + Tags.describe(tag) + " is missing");
        }
        return b;
    }

    private void once(Object seen, String where) throws SnapshotFormatException {
        if (seen != null) {
            throw new SnapshotFormatException(file, where + ": this section may appear only once");
        }
    }

    private void missing(Object section, String name) throws SnapshotFormatException {
        if (section == null) {
            throw new SnapshotFormatException(file, "required section " + name + " is missing");
        }
    }
}
