package dev.hostd.vmm.device.vsock;

import java.util.ArrayDeque;

/**
 * One stream connection between a guest port and a host port. {@link #send} and {@link #close} are
 * thread-safe: they queue work and wake the vCPU, which delivers it in {@code service()} or after
 * the guest's next tx notify. Everything else is vCPU-thread state used by {@link VsockMuxer}.
 *
 * <p>Credit (virtio 1.2 §5.10.6.3): the host sends at most {@code peerBufAlloc - (txCnt - peerFwdCnt)}
 * bytes the guest has not yet consumed, asks with CREDIT_REQUEST when it is blocked, and advertises
 * its own {@link #HOST_BUF_ALLOC}-byte buffer with {@code fwdCnt} on every packet.
 */
public final class VsockConnection {
    /** The host's receive buffer as advertised to the guest; data is handed to the listener at once. */
    static final int HOST_BUF_ALLOC = 16 << 20;
    static final int MAX_PAYLOAD = 64 << 10;

    private final VsockMuxer muxer;
    private final long guestCid;
    private final int guestPort;
    private final int hostPort;

    // Shared with host threads, guarded by this.
    private final ArrayDeque<byte[]> outgoing = new ArrayDeque<>();
    private int headOffset;
    private long queuedBytes;
    private boolean closeRequested;
    private volatile boolean open = true;

    // vCPU thread only.
    VsockStreamListener listener;
    private boolean responsePending = true;
    private boolean creditUpdatePending;
    private boolean creditRequested;
    private boolean shutdownSent;
    private int peerShutdown;
    private int peerBufAlloc;
    private int peerFwdCnt;
    private int txCnt;
    private int fwdCnt;
    private int lastAdvertisedFwdCnt;

    VsockConnection(VsockMuxer muxer, long guestCid, int guestPort, int hostPort) {
        this.muxer = muxer;
        this.guestCid = guestCid;
        this.guestPort = guestPort;
        this.hostPort = hostPort;
    }

    public long guestPort() {
        return Integer.toUnsignedLong(guestPort);
    }

    public int hostPort() {
        return hostPort;
    }

    /** Queues {@code data} for the guest (copied); thread-safe. Throws IllegalStateException once closed. */
    public void send(byte[] data) {
        if (data.length == 0) {
            return;
        }
        synchronized (this) {
            if (!open || closeRequested) {
                throw new IllegalStateException("vsock connection " + this + " is closed");
            }
            outgoing.add(data.clone());
            queuedBytes += data.length;
        }
        muxer.hostWork(this);
    }

    /** Closes gracefully: queued data is still delivered, then SHUTDOWN. Thread-safe, idempotent. */
    public void close() {
        synchronized (this) {
            if (!open || closeRequested) {
                return;
            }
            closeRequested = true;
        }
        muxer.hostWork(this);
    }

    public boolean isOpen() {
        synchronized (this) {
            return open && !closeRequested;
        }
    }

    /** Bytes queued by the host and not yet delivered to the guest. */
    public synchronized long queuedBytes() {
        return queuedBytes;
    }

    void markClosed() {
        synchronized (this) {
            open = false;
            outgoing.clear();
            queuedBytes = 0;
        }
    }

    /** Every guest packet carries its receive buffer and how much of it the guest has consumed. */
    void updatePeerCredit(VsockHeader h) {
        if (h.bufAlloc() != peerBufAlloc || h.fwdCnt() != peerFwdCnt) {
            creditRequested = false;
        }
        peerBufAlloc = h.bufAlloc();
        peerFwdCnt = h.fwdCnt();
    }

    /** Counts {@code n} received bytes as forwarded; asks for a CREDIT_UPDATE when more than half the buffer went unadvertised. */
    void received(int n) {
        fwdCnt += n;
        if (Integer.compareUnsigned(fwdCnt - lastAdvertisedFwdCnt, HOST_BUF_ALLOC / 2) > 0) {
            creditUpdatePending = true;
        }
    }

    void creditRequestedByPeer() {
        creditUpdatePending = true;
    }

    /** Returns true once both directions are shut down by the guest. */
    boolean peerShutdown(int flags) {
        peerShutdown |= flags & (VsockHeader.SHUTDOWN_RCV | VsockHeader.SHUTDOWN_SEND);
        if ((peerShutdown & VsockHeader.SHUTDOWN_RCV) != 0) {
            synchronized (this) {
                outgoing.clear(); // the guest will not read any more
                queuedBytes = 0;
            }
        }
        return peerShutdown == (VsockHeader.SHUTDOWN_RCV | VsockHeader.SHUTDOWN_SEND);
    }

    /** True once the host's SHUTDOWN went out: the muxer then forgets the connection. */
    boolean shutdownSent() {
        return shutdownSent;
    }

    /** The guest's free receive space as the host last learned it. */
    int peerCredit() {
        long inFlight = Integer.toUnsignedLong(txCnt - peerFwdCnt);
        return (int) Math.max(0, Math.min(Integer.MAX_VALUE, Integer.toUnsignedLong(peerBufAlloc) - inFlight));
    }

    /** The next packet this connection wants to send with at most {@code maxPayload} bytes, or null. */
    VsockPacket nextPacket(int maxPayload) {
        if (responsePending) {
            responsePending = false;
            return control(VsockHeader.OP_RESPONSE, 0);
        }
        if (creditUpdatePending) {
            creditUpdatePending = false;
            return control(VsockHeader.OP_CREDIT_UPDATE, 0);
        }
        synchronized (this) {
            if (queuedBytes > 0) {
                int n = (int) Math.min(Math.min(maxPayload, MAX_PAYLOAD), Math.min(peerCredit(), queuedBytes));
                if (n > 0) {
                    return data(take(n));
                }
                if (!creditRequested) {
                    creditRequested = true;
                    return control(VsockHeader.OP_CREDIT_REQUEST, 0);
                }
                return null; // blocked until the guest's credit grows
            }
            if (closeRequested && !shutdownSent) {
                shutdownSent = true;
                return control(VsockHeader.OP_SHUTDOWN, VsockHeader.SHUTDOWN_RCV | VsockHeader.SHUTDOWN_SEND);
            }
        }
        return null;
    }

    private byte[] take(int n) {
        byte[] out = new byte[n];
        int done = 0;
        while (done < n) {
            byte[] head = outgoing.peek();
            int chunk = Math.min(n - done, head.length - headOffset);
            System.arraycopy(head, headOffset, out, done, chunk);
            done += chunk;
            headOffset += chunk;
            if (headOffset == head.length) {
                outgoing.poll();
                headOffset = 0;
            }
        }
        queuedBytes -= n;
        return out;
    }

    private VsockPacket data(byte[] payload) {
        txCnt += payload.length;
        return new VsockPacket(header(VsockHeader.OP_RW, 0, payload.length), payload);
    }

    private VsockPacket control(int op, int flags) {
        return new VsockPacket(header(op, flags, 0), VsockPacket.NO_PAYLOAD);
    }

    private VsockHeader header(int op, int flags, int len) {
        lastAdvertisedFwdCnt = fwdCnt;
        return new VsockHeader(VirtioVsock.HOST_CID, guestCid, hostPort, guestPort, len, VsockHeader.TYPE_STREAM, op,
                flags, HOST_BUF_ALLOC, fwdCnt);
    }

    @Override
    public String toString() {
        return "vsock[guest:" + guestPort() + " <-> host:" + Integer.toUnsignedString(hostPort) + "]";
    }
}
