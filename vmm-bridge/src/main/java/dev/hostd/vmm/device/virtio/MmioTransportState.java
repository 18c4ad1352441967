package dev.hostd.vmm.device.virtio;

import java.util.ArrayList;
import java.util.List;

/**
 * The saved state of a virtio-mmio transport: its registers, every queue and the device's own
 * state. Encoded as magic "VMIO", a format version, then little-endian fields.
 */
public record MmioTransportState(int deviceId, int status, int deviceFeaturesSel, int driverFeaturesSel,
                                 long driverFeatures, int queueSel, int interruptStatus, int configGeneration,
                                 List<QueueState> queues, byte[] deviceState) {
    static final int MAGIC = 0x4F494D56; // "VMIO"
    static final int VERSION = 1;
    static final String WHAT = "virtio-mmio state";

    public MmioTransportState {
        queues = List.copyOf(queues);
        deviceState = deviceState.clone();
    }

    @Override
    public byte[] deviceState() {
        return deviceState.clone();
    }

    public byte[] encode() {
        StateWriter w = new StateWriter().u32(MAGIC).u16(VERSION)
                .u32(deviceId).u32(status).u32(deviceFeaturesSel).u32(driverFeaturesSel).u64(driverFeatures)
                .u32(queueSel).u32(interruptStatus).u32(configGeneration).u16(queues.size());
        for (QueueState q : queues) {
            w.u16(q.maxSize()).u16(q.size()).u8(q.ready() ? 1 : 0).u64(q.descTable()).u64(q.availRing())
                    .u64(q.usedRing()).u16(q.nextAvail()).u16(q.nextUsed());
        }
        return w.bytes(deviceState).toByteArray();
    }

    /** Decodes the byte layout only; {@link VirtioMmioTransport#restoreState} checks it against the device. */
    public static MmioTransportState decode(byte[] bytes) {
        StateReader r = new StateReader(WHAT, bytes);
        r.header(MAGIC, VERSION);
        int deviceId = r.u32("device id");
        int status = r.u32("status");
        int deviceFeaturesSel = r.u32("device features select");
        int driverFeaturesSel = r.u32("driver features select");
        long driverFeatures = r.u64("driver features");
        int queueSel = r.u32("queue select");
        int interruptStatus = r.u32("interrupt status");
        int configGeneration = r.u32("config generation");
        int count = r.u16("queue count");
        List<QueueState> queues = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            String q = "queue " + i + " ";
            queues.add(new QueueState(r.u16(q + "max size"), r.u16(q + "size"), r.bool(q + "ready"),
                    r.u64(q + "descriptor table"), r.u64(q + "available ring"), r.u64(q + "used ring"),
                    r.u16(q + "next available"), r.u16(q + "next used")));
        }
        byte[] deviceState = r.bytes("device state");
        r.end();
        return new MmioTransportState(deviceId, status, deviceFeaturesSel, driverFeaturesSel, driverFeatures,
                queueSel, interruptStatus, configGeneration, queues, deviceState);
    }

    /** What makes this state unusable for {@code device} with {@code queues} in the current guest RAM, or null. */
    String problemFor(VirtioDevice device, List<Virtqueue> queues) {
        MmioTransportState s = this;
        if (s.deviceId() != device.deviceId()) {
            return "saved for device id " + s.deviceId() + ", this device is " + device.deviceId();
        }
        if ((s.status() & ~DeviceStatus.ALL) != 0) {
            return String.format("status %#x has unknown bits", s.status());
        }
        if ((s.status() & DeviceStatus.DRIVER_OK) != 0 && (s.status() & DeviceStatus.FEATURES_OK) == 0) {
            return "status has DRIVER_OK without FEATURES_OK";
        }
        if ((s.driverFeatures() & ~device.availableFeatures()) != 0) {
            return "driver features " + Long.toHexString(s.driverFeatures()) + " were not offered (offered "
                    + Long.toHexString(device.availableFeatures()) + ")";
        }
        if ((s.interruptStatus() & ~(MmioRegisters.INTERRUPT_USED_BUFFER | MmioRegisters.INTERRUPT_CONFIG_CHANGE)) != 0) {
            return "interrupt status has unknown bits";
        }
        if (s.queues().size() != queues.size()) {
            return s.queues().size() + " queues saved, the device has " + queues.size();
        }
        for (int i = 0; i < queues.size(); i++) {
            String q = queues.get(i).validateState(s.queues().get(i));
            if (q != null) {
                return "queue " + i + ": " + q;
            }
        }
        return null;
    }
}
