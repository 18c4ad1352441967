package dev.hostd.vmm.device.vsock;

import dev.hostd.vmm.device.GuestWaker;
import dev.hostd.vmm.device.virtio.DescriptorChain;
import dev.hostd.vmm.device.virtio.VirtioDevice;
import dev.hostd.vmm.device.virtio.VirtioFeatures;
import dev.hostd.vmm.device.virtio.Virtqueue;
import dev.hostd.vmm.device.virtio.VirtqueueException;
import dev.hostd.vmm.memory.GuestMemory;
import java.util.List;

/**
 * The virtio-vsock device (virtio 1.2 §5.10), stream sockets only, host side of guest-initiated
 * connections. Queues: 0 rx, 1 tx, 2 event. Config space: {@code u64 guest_cid}.
 *
 * <p>Threading: the {@link VirtioDevice} methods run on the vCPU thread; {@link #listen} and the
 * {@link VsockConnection} host API may be called from any thread.
 */
public final class VirtioVsock implements VirtioDevice {
    public static final long GUEST_CID = 3;
    public static final long HOST_CID = 2;
    public static final int DEVICE_ID = 19;
    public static final int QUEUE_SIZE = 256;
    static final int RX = 0;
    static final int TX = 1;
    static final int EVENT = 2;
    /** struct virtio_vsock_event's id for "all connections are gone" (virtio 1.2 §5.10.6.6). */
    static final int EVENT_TRANSPORT_RESET = 0;
    static final int EVENT_SIZE = 4;

    private static final System.Logger LOG = System.getLogger(VirtioVsock.class.getName());

    private final VsockMuxer muxer;
    private long guestCid;
    private Virtqueue rx;
    private Virtqueue tx;
    private Virtqueue event;
    /** A transport reset the guest has not been told of yet: it had no event buffer posted. */
    private boolean resetPending;

    public VirtioVsock(long guestCid) {
        String problem = VsockState.checkCid(guestCid);
        if (problem != null) {
            throw new IllegalArgumentException(problem);
        }
        this.guestCid = guestCid;
        this.muxer = new VsockMuxer(guestCid);
    }

    public long guestCid() {
        return guestCid;
    }

    /** Accept guest-initiated connections to {@code hostPort}; replaces an earlier acceptor. Thread-safe. */
    public void listen(int hostPort, VsockAcceptor acceptor) {
        muxer.listen(hostPort, acceptor);
    }

    /**
     * Tells the guest's driver that every connection it had is gone
     * ({@code VIRTIO_VSOCK_EVENT_TRANSPORT_RESET}), as a clone restored from a snapshot must: the
     * host side forgets them too, and Linux drops its sockets and re-reads the CID. Delivered on
     * the event queue now if the driver has a buffer posted there, else when it posts one. Device
     * thread (the vCPU's, or the VM's service thread), or before the vCPUs run.
     */
    public void transportReset() {
        muxer.closeAll("transport reset");
        resetPending = true;
        deliverEvent();
    }

    /** Open connections (vCPU thread). */
    public int connectionCount() {
        return muxer.connectionCount();
    }

    @Override public int deviceId() { return DEVICE_ID; }
    @Override public long availableFeatures() { return VirtioFeatures.VERSION_1; }
    @Override public int queueCount() { return 3; }
    @Override public int maxQueueSize(int queueIndex) { return QUEUE_SIZE; }

    @Override
    public long readConfig(int offset, int size) {
        long value = 0;
        for (int i = size - 1; i >= 0; i--) {
            int at = offset + i;
            long b = at >= 0 && at < 8 ? (guestCid >>> (8 * at)) & 0xff : 0;
            value = value << 8 | b;
        }
        return value;
    }

    @Override
    public void writeConfig(int offset, int size, long value) {
        LOG.log(System.Logger.Level.DEBUG, "ignored write to read-only vsock config at {0}", offset);
    }

    @Override
    public void activate(GuestMemory memory, List<Virtqueue> queues, GuestWaker waker) {
        rx = queues.get(RX);
        tx = queues.get(TX);
        event = queues.get(EVENT);
        // rx buffers are looked for whenever there is something to deliver (every exit, every
        // wake on the wait port), so the guest need not spend an exit to announce them.
        rx.suppressNotifications();
        muxer.activate(guestCid, waker);
    }

    @Override
    public void queueNotify(int queueIndex) {
        if (queueIndex == TX) {
            processTx();
        }
        if (queueIndex == TX || queueIndex == RX) {
            deliverRx();
        }
        if (queueIndex == EVENT) {
            deliverEvent();
        }
    }

    @Override
    public boolean service() {
        boolean told = deliverEvent();
        return deliverRx() || told;
    }

    @Override
    public void reset() {
        muxer.closeAll("device reset");
        rx = tx = event = null;
        resetPending = false; // the driver starts over: it has no connection to be told about
    }

    @Override
    public byte[] saveState() {
        return new VsockState(guestCid).encode();
    }

    @Override
    public void restoreState(byte[] state) {
        VsockState s = VsockState.decode(state);
        muxer.closeAll("device restored");
        guestCid = s.guestCid();
        rx = tx = event = null;
    }

    private void processTx() {
        if (tx == null || !tx.ready()) {
            return;
        }
        for (DescriptorChain chain; (chain = tx.pop()) != null; ) {
            handleTx(chain);
            tx.addUsed(chain.headIndex(), 0);
        }
    }

    private void handleTx(DescriptorChain chain) {
        if (chain.readableLength() < VsockHeader.SIZE) {
            throw new VirtqueueException("tx chain " + chain.headIndex() + " has " + chain.readableLength()
                    + " readable bytes, less than the 44-byte vsock header");
        }
        VsockHeader h = VsockHeader.decode(chain.readExactly(0, VsockHeader.SIZE));
        long len = Integer.toUnsignedLong(h.len());
        if (len > VsockConnection.MAX_PAYLOAD || len > chain.readableLength() - VsockHeader.SIZE) {
            LOG.log(System.Logger.Level.WARNING, "dropped vsock {0} with len {1}: {2} payload bytes in the chain, at most {3}",
                    VsockHeader.opName(h.op()), len, chain.readableLength() - VsockHeader.SIZE, VsockConnection.MAX_PAYLOAD);
            return;
        }
        muxer.handle(h, chain.readExactly(VsockHeader.SIZE, (int) len));
    }

    /** Puts a pending transport reset into an event buffer; true if it went into the used ring. */
    private boolean deliverEvent() {
        if (!resetPending || event == null || !event.ready()) {
            return false;
        }
        DescriptorChain chain = event.pop();
        if (chain == null) {
            return false; // told when the driver posts a buffer (its notify on the event queue)
        }
        if (chain.writableLength() < EVENT_SIZE) {
            throw new VirtqueueException("event chain " + chain.headIndex() + " has " + chain.writableLength()
                    + " writable bytes, less than the 4-byte virtio_vsock_event");
        }
        chain.write(0, new byte[] {EVENT_TRANSPORT_RESET, 0, 0, 0}, 0, EVENT_SIZE);
        event.addUsed(chain.headIndex(), EVENT_SIZE);
        resetPending = false;
        return true;
    }

    /** Fills rx buffers with pending packets; true if any went into the used ring. */
    private boolean deliverRx() {
        if (rx == null || !rx.ready()) {
            return false;
        }
        boolean delivered = false;
        while (muxer.hasWork()) {
            DescriptorChain chain = rx.pop();
            if (chain == null) {
                break; // the guest has no buffer: the work stays queued until it posts some
            }
            long capacity = chain.writableLength();
            if (capacity < VsockHeader.SIZE) {
                throw new VirtqueueException("rx chain " + chain.headIndex() + " has " + capacity
                        + " writable bytes, less than the 44-byte vsock header");
            }
            VsockPacket p = muxer.next((int) Math.min(capacity - VsockHeader.SIZE, VsockConnection.MAX_PAYLOAD));
            if (p == null) {
                rx.undoPop();
                break;
            }
            byte[] header = p.header().encode();
            chain.write(0, header, 0, header.length);
            chain.write(VsockHeader.SIZE, p.payload(), 0, p.payload().length);
            rx.addUsed(chain.headIndex(), VsockHeader.SIZE + p.payload().length);
            delivered = true;
        }
        return delivered;
    }
}
