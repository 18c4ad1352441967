package dev.hostd.vmm.snapshot;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Deterministic sample states whose every struct is filled with distinct pseudo-random bytes. */
final class Fixtures {
    static final long MEMORY_BYTES = 2L << 20;
    static final String MEMORY_FILE = "memory.bin";

    private Fixtures() {}

    static byte[] bytes(Random r, int n) {
        byte[] b = new byte[n];
        r.nextBytes(b);
        return b;
    }

    static VmState vm(Random r, boolean irqchip) {
        return new VmState(bytes(r, KvmAbi.KVM_CLOCK_DATA_SIZE),
                irqchip ? bytes(r, KvmAbi.KVM_IRQCHIP_SIZE) : null,
                irqchip ? bytes(r, KvmAbi.KVM_IRQCHIP_SIZE) : null,
                irqchip ? bytes(r, KvmAbi.KVM_IRQCHIP_SIZE) : null,
                irqchip ? bytes(r, KvmAbi.KVM_PIT_STATE2_SIZE) : null);
    }

    static VcpuState vcpu(Random r, int index, boolean irqchip, int xsaveBytes, int msrs) {
        int[] idx = new int[msrs];
        long[] val = new long[msrs];
        for (int i = 0; i < msrs; i++) {
            idx[i] = 0xc0000080 + i; // distinct, some with the top bit set
            val[i] = r.nextLong();
        }
        return new VcpuState(index, bytes(r, 3 * KvmAbi.KVM_CPUID_ENTRY2_SIZE), bytes(r, KvmAbi.KVM_REGS_SIZE),
                bytes(r, KvmAbi.KVM_SREGS_SIZE), bytes(r, xsaveBytes), bytes(r, KvmAbi.KVM_XCRS_SIZE),
                bytes(r, KvmAbi.KVM_DEBUGREGS_SIZE), irqchip ? bytes(r, KvmAbi.KVM_LAPIC_STATE_SIZE) : null,
                idx, val, bytes(r, KvmAbi.KVM_VCPU_EVENTS_SIZE), r.nextInt(10), 2_400_000L + index);
    }

    static MicrovmState state(long seed, int vcpus, boolean irqchip, int devices, Map<String, String> metadata) {
        Random r = new Random(seed);
        List<VcpuState> cpus = new ArrayList<>();
        for (int i = 0; i < vcpus; i++) {
            cpus.add(vcpu(r, i, irqchip, i % 2 == 0 ? KvmAbi.KVM_XSAVE_SIZE : 11008, 2 + i));
        }
        List<DeviceState> devs = new ArrayList<>();
        for (int i = 0; i < devices; i++) {
            devs.add(new DeviceState("dev" + i, i % 2 == 0 ? "virtio-mmio/vsock" : "virtio-mmio/console",
                    bytes(r, i * 37)));
        }
        return new MicrovmState(new MachineState(vcpus, MEMORY_BYTES, irqchip, "user-elf"),
                new MemoryState(MEMORY_FILE, MEMORY_BYTES, r.nextInt()), vm(r, irqchip), cpus, devs, metadata);
    }

    /** One vCPU, no irqchip, two devices (the first with no data), one metadata pair: about 5.7 KiB. */
    static MicrovmState small() {
        return state(7, 1, false, 2, Map.of("template", "python-3.13"));
    }

    static Map<String, String> unicodeMetadata() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("template", "python-3.13");
        m.put("créé-par", "hostd ✓");
        m.put("名前", "サンドボックス");
        m.put("emoji 🐍", "🚀 astral + combining é");
        m.put("", "empty key");
        m.put("empty value", "");
        return m;
    }
}
