package dev.hostd.vmm.device.virtio;

import dev.hostd.vmm.device.GuestWaker;
import dev.hostd.vmm.memory.GuestMemory;
import java.util.List;

/** A one-queue test device: each chain's readable bytes come back reversed in its writable part. */
final class LoopbackDevice implements VirtioDevice {
    static final int ID = 42;
    static final long FEATURES = VirtioFeatures.VERSION_1 | 1L;

    int activations;
    int resets;
    int processed;
    int counter; // device state saved and restored
    private Virtqueue queue;

    @Override public int deviceId() { return ID; }
    @Override public long availableFeatures() { return FEATURES; }
    @Override public int queueCount() { return 1; }
    @Override public int maxQueueSize(int queueIndex) { return 16; }

    @Override
    public long readConfig(int offset, int size) {
        return offset == 0 && size == 4 ? 0x11223344L : 0;
    }

    @Override public void writeConfig(int offset, int size, long value) { counter = (int) value; }

    @Override
    public void activate(GuestMemory memory, List<Virtqueue> queues, GuestWaker waker) {
        activations++;
        queue = queues.getFirst();
    }

    @Override
    public void queueNotify(int queueIndex) {
        for (DescriptorChain c; (c = queue.pop()) != null; ) {
            byte[] in = c.readExactly(0, (int) c.readableLength());
            byte[] out = new byte[in.length];
            for (int i = 0; i < in.length; i++) {
                out[i] = in[in.length - 1 - i];
            }
            int written = c.write(0, out, 0, out.length);
            queue.addUsed(c.headIndex(), written);
            processed++;
        }
    }

    @Override public boolean service() { return false; }

    @Override
    public void reset() {
        resets++;
        queue = null;
    }

    @Override
    public byte[] saveState() {
        return new StateWriter().u32(0x504F4F4C).u32(counter).toByteArray();
    }

    @Override
    public void restoreState(byte[] state) {
        StateReader r = new StateReader("loopback state", state);
        if (r.u32("magic") != 0x504F4F4C) {
            throw r.fail("bad magic");
        }
        int c = r.u32("counter");
        r.end();
        counter = c;
        queue = null;
    }
}
