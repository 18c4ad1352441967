package dev.hostd.vmm.device.net;

import dev.hostd.vmm.device.GuestWaker;
import dev.hostd.vmm.device.virtio.Descriptor;
import dev.hostd.vmm.device.virtio.DescriptorChain;
import dev.hostd.vmm.device.virtio.VirtioDevice;
import dev.hostd.vmm.device.virtio.VirtioFeatures;
import dev.hostd.vmm.device.virtio.Virtqueue;
import dev.hostd.vmm.device.virtio.VirtqueueException;
import dev.hostd.vmm.internal.linux.Errno;
import dev.hostd.vmm.internal.linux.NetLibc;
import dev.hostd.vmm.memory.GuestMemory;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * The virtio-net device (virtio 1.2 §5.1), one queue pair, backed by a {@link Tap}. Features:
 * VERSION_1 and MAC only (no offloads, no mergeable buffers): every frame is one
 * {@code virtio_net_hdr_v1} of 12 bytes, all zero but {@code num_buffers = 1} on rx, then the
 * Ethernet frame. Config space: {@code u8 mac[6]}.
 *
 * <p>Threading: the {@link VirtioDevice} methods run on the vCPU thread, which moves frames itself
 * with readv/writev between the TAP and guest buffers. The only other thread is the shared
 * {@link NetEventLoop}, which on "TAP readable" sets {@code rxPending} and wakes the vCPU; rx
 * buffers are filled on the vCPU's next exit (every wait), so the guest need not notify rx.
 * Without a TAP (a template being built) the device is disconnected: tx frames are dropped and
 * counted, nothing is received.
 */
public final class VirtioNet implements VirtioDevice, AutoCloseable {
    public static final int DEVICE_ID = 1;
    public static final int QUEUE_SIZE = 256;
    public static final long F_MAC = 1L << 5;
    public static final int HEADER = 12;
    /** 1500-byte MTU plus Ethernet header and one VLAN tag. */
    public static final int MAX_FRAME = 1518;
    public static final int MIN_FRAME = 14;
    /** Without mergeable buffers the driver must post buffers that hold any frame (§5.1.6.3.1). */
    public static final int MIN_RX_BUFFER = HEADER + MAX_FRAME;
    static final int RX = 0, TX = 1;
    private static final int NUM_BUFFERS_OFFSET = 10;

    private static final System.Logger LOG = System.getLogger(VirtioNet.class.getName());

    private final Arena arena = Arena.ofShared();
    private final MemorySegment iov = arena.allocate(NetLibc.IOVEC_BYTES * (QUEUE_SIZE + 1), 8);
    private final MemorySegment zeroHeader = arena.allocate(HEADER, 8);
    private final byte[] rxHeader = new byte[HEADER];
    private byte[] mac;
    private final Tap tap;
    private NetEventLoop.Registration registration;
    private volatile boolean rxPending = true;
    private boolean tapFailed;
    private GuestMemory memory;
    private Virtqueue rx;
    private Virtqueue tx;
    private boolean closed;
    private volatile long rxFrames, rxBytes, rxDropped, txFrames, txBytes, txDropped;

    /**
     * A device on {@code tap} (null: disconnected), which it owns from now on and closes in
     * {@link #close()}, also if this constructor fails.
     */
    public VirtioNet(byte[] mac, Tap tap) {
        this.tap = tap;
        String problem = checkMac(mac);
        if (problem != null) {
            close();
            throw new IllegalArgumentException(problem);
        }
        this.mac = mac.clone();
        rxHeader[NUM_BUFFERS_OFFSET] = 1;
    }

    /** Registers the TAP with {@code loop}: frames arriving on it wake the vCPU through {@code waker}. Before the vCPU runs. */
    public void connect(NetEventLoop loop, GuestWaker waker) {
        if (tap == null || registration != null) {
            return;
        }
        this.registration = loop.register(tap, () -> {
            rxPending = true;
            waker.wake();
        });
        rxPending = true;
    }

    /** Sets the MAC in config space (a clone gets the one of its identity). Before the vCPU runs. */
    public void setMac(byte[] mac) {
        String problem = checkMac(mac);
        if (problem != null) {
            throw new IllegalArgumentException(problem);
        }
        this.mac = mac.clone();
    }

    public byte[] mac() {
        return mac.clone();
    }

    public NetStats stats() {
        return new NetStats(rxFrames, rxBytes, rxDropped, txFrames, txBytes, txDropped);
    }

    static String checkMac(byte[] mac) {
        if (mac == null || mac.length != 6) {
            return "a MAC has 6 bytes";
        }
        return (mac[0] & 1) != 0 ? "MAC " + String.format("%02x", mac[0]) + ":... is a multicast address" : null;
    }

    @Override public int deviceId() { return DEVICE_ID; }
    @Override public long availableFeatures() { return VirtioFeatures.VERSION_1 | F_MAC; }
    @Override public int queueCount() { return 2; }
    @Override public int maxQueueSize(int queueIndex) { return QUEUE_SIZE; }

    @Override
    public long readConfig(int offset, int size) {
        long value = 0;
        for (int i = size - 1; i >= 0; i--) {
            int at = offset + i;
            value = value << 8 | (at >= 0 && at < 6 ? mac[at] & 0xff : 0);
        }
        return value;
    }

    @Override
    public void writeConfig(int offset, int size, long value) {
        LOG.log(System.Logger.Level.DEBUG, "ignored write to read-only virtio-net config at {0}", offset);
    }

    @Override
    public void activate(GuestMemory memory, List<Virtqueue> queues, GuestWaker waker) {
        this.memory = memory;
        rx = queues.get(RX);
        tx = queues.get(TX);
        if (rx.ready()) {
            rx.suppressNotifications(); // rx is filled on every exit when frames wait
        }
        rxPending = true;
    }

    @Override
    public void queueNotify(int queueIndex) {
        if (queueIndex == TX) {
            processTx();
        }
        deliverRx();
    }

    @Override
    public boolean service() {
        return deliverRx();
    }

    @Override
    public void reset() {
        rx = tx = null;
    }

    @Override
    public byte[] saveState() {
        return new NetState(mac).encode();
    }

    @Override
    public void restoreState(byte[] state) {
        NetState s = NetState.decode(state);
        mac = s.mac();
        rx = tx = null;
        rxPending = true;
    }

    private void processTx() {
        if (tx == null || !tx.ready()) {
            return;
        }
        for (DescriptorChain chain; (chain = tx.pop()) != null; ) {
            transmit(chain);
            tx.addUsed(chain.headIndex(), 0);
        }
    }

    /** One frame to the TAP. A bad frame is the guest's loss, never the device's failure: dropped and counted. */
    private void transmit(DescriptorChain chain) {
        long frame = chain.readableLength() - HEADER;
        if (frame < MIN_FRAME || frame > MAX_FRAME || tap == null || tapFailed) {
            txDropped++;
            return;
        }
        int count = 0;
        if (tap.headerBytes() > 0) {
            count = iovec(count, zeroHeader.address(), HEADER); // no offload flags from the guest reach the kernel
        }
        count = iovecs(count, chain.readable(), HEADER, Long.MAX_VALUE);
        long n = NetLibc.writevRaw(tap.fd(), iov, count);
        if (n < 0) {
            txDropped++;
            if (n != -Errno.EAGAIN && n != -Errno.EIO && n != -Errno.EINVAL) { // EIO: the TAP is down
                tapFailed("write", (int) -n);
            }
            return;
        }
        txFrames++;
        txBytes += frame;
    }

    /** Moves queued frames from the TAP into posted rx buffers; true if any reached the used ring. */
    private boolean deliverRx() {
        if (tap == null || tapFailed || rx == null || !rx.ready() || !rxPending) {
            return false;
        }
        rxPending = false; // cleared before reading: a frame arriving from now on sets it again
        int tapHeader = tap.headerBytes();
        boolean delivered = false;
        while (true) {
            DescriptorChain chain = rx.pop();
            if (chain == null) {
                rxPending = true; // frames may wait in the TAP until the guest posts buffers
                break;
            }
            long capacity = chain.writableLength();
            if (capacity < MIN_RX_BUFFER) {
                throw new VirtqueueException("rx chain " + chain.headIndex() + " has " + capacity
                        + " writable bytes, less than the " + MIN_RX_BUFFER + " a frame may need");
            }
            long room = capacity - HEADER + tapHeader;
            int count = iovecs(0, chain.writable(), HEADER - tapHeader, room);
            long n = NetLibc.readvRaw(tap.fd(), iov, count);
            if (n == -Errno.EAGAIN) {
                rx.undoPop();
                break;
            }
            if (n < 0 && n != -Errno.EFAULT && n != -Errno.EINVAL) {
                rx.undoPop();
                tapFailed("read", (int) -n);
                break;
            }
            long frame = n - tapHeader;
            if (n < 0 || frame < MIN_FRAME || n >= room) { // refused, runt, or possibly truncated
                rxDropped++;
                rx.undoPop(); // the buffer is reused for the next frame
                continue;
            }
            chain.write(0, rxHeader, 0, HEADER);
            rx.addUsed(chain.headIndex(), (int) (HEADER + frame));
            rxFrames++;
            rxBytes += frame;
            delivered = true;
        }
        return delivered;
    }

    /** Appends iovecs for the bytes of {@code part} from {@code skip} on, at most {@code limit} of them. */
    private int iovecs(int count, List<Descriptor> part, long skip, long limit) {
        long left = limit;
        for (Descriptor d : part) {
            long len = Integer.toUnsignedLong(d.length());
            if (skip >= len) {
                skip -= len;
                continue;
            }
            long n = Math.min(len - skip, left);
            if (n > 0) {
                count = iovec(count, memory.slice(d.address() + skip, n).address(), n);
                left -= n;
            }
            skip = 0;
            if (left == 0) {
                break;
            }
        }
        return count;
    }

    private int iovec(int count, long address, long length) {
        iov.set(ValueLayout.JAVA_LONG, count * NetLibc.IOVEC_BYTES, address);
        iov.set(ValueLayout.JAVA_LONG, count * NetLibc.IOVEC_BYTES + 8, length);
        return count + 1;
    }

    private void tapFailed(String what, int errno) {
        tapFailed = true;
        LOG.log(System.Logger.Level.WARNING, "virtio-net: {0} on TAP {1} failed with {2}; the device stops using it",
                what, tap.name(), Errno.name(errno));
    }

    /** Stops the readiness callbacks, closes the TAP and frees the device's native buffers. After the vCPU stopped. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            if (registration != null) {
                registration.close();
            }
            if (tap != null) {
                tap.close();
            }
        } finally {
            arena.close();
        }
    }
}
