package dev.hostd.vmm.snapshot;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * A second, independent encoder written from docs/snapshot-format.md, for crafting files the
 * writer would never produce (wrong sizes, unknown sections, hostile lengths) with valid checksums.
 */
final class Raw {
    static final int REQ = 1;

    private Raw() {}

    static int tag(String fourcc) {
        byte[] b = fourcc.getBytes(StandardCharsets.US_ASCII);
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getInt();
    }

    static byte[] u32(int v) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array();
    }

    static byte[] u64(long v) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array();
    }

    static byte[] str(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return cat(u32(b.length), b);
    }

    static byte[] cat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    static byte[] cat(List<byte[]> parts) {
        return cat(parts.toArray(byte[][]::new));
    }

    /** A section or nested record: u32 tag, u32 flags, u64 length, payload. */
    static byte[] rec(String tag, int flags, byte[]... payload) {
        byte[] p = cat(payload);
        return cat(u32(tag(tag)), u32(flags), u64(p.length), p);
    }

    static int crc(byte[] b) {
        CRC32C c = new CRC32C();
        c.update(b);
        return (int) c.getValue();
    }

    /** A whole file with correct checksums. */
    static byte[] file(int major, int minor, int flags, byte[] body) {
        return file(major, minor, flags, body.length, body);
    }

    static byte[] file(int major, int minor, int flags, long bodyLength, byte[] body) {
        ByteBuffer h = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN);
        h.put("HOSTDSNP".getBytes(StandardCharsets.US_ASCII)).putShort((short) major).putShort((short) minor)
                .putInt(flags).putLong(bodyLength).putInt(crc(body));
        CRC32C c = new CRC32C();
        c.update(h.array(), 0, 28);
        h.putInt((int) c.getValue());
        return cat(h.array(), body);
    }

    static byte[] file(byte[] body) {
        return file(1, 0, 0, body);
    }

    // ---- the sections of docs/snapshot-format.md, from a state ----

    static byte[] machine(MachineState m) {
        return rec("MACH", REQ, u32(m.vcpuCount()), u32(m.irqchip() ? 1 : 0), u64(m.memoryBytes()), str(m.guestKind()));
    }

    static byte[] memory(MemoryState m) {
        return rec("MEMF", REQ, u64(m.sizeBytes()), u32(m.crc32c()), str(m.fileName()));
    }

    static byte[] vm(VmState v) {
        List<byte[]> r = new ArrayList<>();
        r.add(rec("CLCK", REQ, v.clock()));
        if (v.picMaster() != null) {
            r.add(rec("PICM", REQ, v.picMaster()));
            r.add(rec("PICS", REQ, v.picSlave()));
            r.add(rec("IOAP", REQ, v.ioapic()));
            r.add(rec("PIT2", REQ, v.pit2()));
        }
        return rec("VM  ", REQ, cat(r));
    }

    /** The nested records of a VCPU section in writer order; tests replace or drop entries. */
    static List<byte[]> vcpuRecords(VcpuState v) {
        List<byte[]> r = new ArrayList<>();
        r.add(rec("CPID", REQ, v.cpuidEntries()));
        r.add(rec("REGS", REQ, v.regs()));
        r.add(rec("SREG", REQ, v.sregs()));
        r.add(rec("XSAV", REQ, v.xsave()));
        r.add(rec("XCRS", REQ, v.xcrs()));
        r.add(rec("DBGR", REQ, v.debugregs()));
        if (v.lapic() != null) {
            r.add(rec("LAPC", REQ, v.lapic()));
        }
        List<byte[]> msrs = new ArrayList<>();
        for (int i = 0; i < v.msrIndices().length; i++) {
            msrs.add(cat(u32(v.msrIndices()[i]), u32(0), u64(v.msrValues()[i])));
        }
        r.add(rec("MSRS", REQ, cat(msrs)));
        r.add(rec("EVNT", REQ, v.vcpuEvents()));
        return r;
    }

    static byte[] vcpu(VcpuState v, List<byte[]> records) {
        return rec("VCPU", REQ, u32(v.index()), u32(v.mpState()), u64(v.tscKhz()), cat(records));
    }

    static byte[] device(DeviceState d) {
        return rec("DEVC", REQ, str(d.name()), str(d.kind()), d.data());
    }

    static byte[] metadata(java.util.Map<String, String> m) {
        List<byte[]> p = new ArrayList<>();
        p.add(u32(m.size()));
        m.forEach((k, v) -> {
            p.add(str(k));
            p.add(str(v));
        });
        return rec("META", 0, cat(p));
    }

    /** The sections of a state in writer order; tests replace, drop or add entries. */
    static List<byte[]> sections(MicrovmState s) {
        List<byte[]> out = new ArrayList<>();
        out.add(machine(s.machine()));
        out.add(memory(s.memory()));
        out.add(vm(s.vm()));
        for (VcpuState v : s.vcpus()) {
            out.add(vcpu(v, vcpuRecords(v)));
        }
        for (DeviceState d : s.devices()) {
            out.add(device(d));
        }
        out.add(metadata(s.metadata()));
        return out;
    }
}
