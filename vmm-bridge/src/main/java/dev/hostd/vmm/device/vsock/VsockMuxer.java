package dev.hostd.vmm.device.vsock;

import dev.hostd.vmm.device.GuestWaker;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The vsock stream protocol between the guest and host listeners: the connection table, what to do
 * with each guest packet and which packet goes to the guest next. vCPU thread only, except
 * {@link #listen} and {@link #hostWork}, which host threads call.
 */
final class VsockMuxer {
    private static final System.Logger LOG = System.getLogger(VsockMuxer.class.getName());

    private record Key(int guestPort, int hostPort) {}

    private final Map<Integer, VsockAcceptor> acceptors = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<VsockConnection> inbox = new ConcurrentLinkedQueue<>();
    private final Map<Key, VsockConnection> connections = new HashMap<>();
    private final LinkedHashSet<VsockConnection> pending = new LinkedHashSet<>();
    private final ArrayDeque<VsockHeader> resets = new ArrayDeque<>();
    private volatile GuestWaker waker;
    private long guestCid;

    VsockMuxer(long guestCid) {
        this.guestCid = guestCid;
    }

    void listen(int hostPort, VsockAcceptor acceptor) {
        acceptors.put(hostPort, acceptor);
    }

    void activate(long guestCid, GuestWaker waker) {
        this.guestCid = guestCid;
        this.waker = waker;
    }

    /** A host thread queued data or a close on {@code connection}. */
    void hostWork(VsockConnection connection) {
        inbox.add(connection);
        GuestWaker w = waker;
        if (w != null) {
            w.wake();
        }
    }

    boolean hasWork() {
        return !resets.isEmpty() || !inbox.isEmpty() || !pending.isEmpty();
    }

    int connectionCount() {
        return connections.size();
    }

    /** Handles one packet the guest sent. */
    void handle(VsockHeader h, byte[] payload) {
        if (h.srcCid() != guestCid || h.dstCid() != VirtioVsock.HOST_CID) {
            LOG.log(System.Logger.Level.WARNING, "dropped vsock {0} from cid {1} to cid {2}",
                    VsockHeader.opName(h.op()), h.srcCid(), h.dstCid());
            return;
        }
        if (h.type() != VsockHeader.TYPE_STREAM) {
            reset(h);
            return;
        }
        Key key = new Key(h.srcPort(), h.dstPort());
        VsockConnection c = connections.get(key);
        if (c == null) {
            if (h.op() == VsockHeader.OP_REQUEST) {
                accept(key, h);
            } else {
                reset(h);
            }
            return;
        }
        c.updatePeerCredit(h);
        switch (h.op()) {
            case VsockHeader.OP_RW -> {
                c.received(payload.length);
                pending.add(c);
                if (payload.length > 0) {
                    deliver(c, payload);
                }
            }
            case VsockHeader.OP_CREDIT_UPDATE -> pending.add(c);
            case VsockHeader.OP_CREDIT_REQUEST -> {
                c.creditRequestedByPeer();
                pending.add(c);
            }
            case VsockHeader.OP_SHUTDOWN -> {
                if (c.peerShutdown(h.flags())) {
                    resets.add(h.resetReply());
                    finish(c, "shut down by the guest");
                }
            }
            case VsockHeader.OP_RST -> finish(c, "reset by the guest");
            default -> { // REQUEST on an open connection, RESPONSE (the host never connects), unknown ops
                reset(h);
                finish(c, "unexpected " + VsockHeader.opName(h.op()) + " from the guest");
            }
        }
    }

    private void accept(Key key, VsockHeader h) {
        VsockAcceptor acceptor = acceptors.get(h.dstPort());
        if (acceptor == null) {
            reset(h);
            return;
        }
        VsockConnection c = new VsockConnection(this, guestCid, h.srcPort(), h.dstPort());
        c.updatePeerCredit(h);
        VsockStreamListener listener;
        try {
            listener = acceptor.accept(c);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "vsock acceptor for port " + h.dstPort() + " failed", e);
            listener = null;
        }
        if (listener == null) {
            c.markClosed();
            reset(h);
            return;
        }
        c.listener = listener;
        connections.put(key, c);
        pending.add(c);
    }

    private void deliver(VsockConnection c, byte[] payload) {
        try {
            c.listener.onData(payload);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "vsock listener of " + c + " failed", e);
        }
    }

    /** The next packet for the guest with at most {@code maxPayload} bytes of payload, or null. */
    VsockPacket next(int maxPayload) {
        VsockHeader rst = resets.poll();
        if (rst != null) {
            return new VsockPacket(rst, VsockPacket.NO_PAYLOAD);
        }
        for (VsockConnection c; (c = inbox.poll()) != null; ) {
            if (connections.containsValue(c)) {
                pending.add(c);
            }
        }
        for (Iterator<VsockConnection> it = pending.iterator(); it.hasNext(); ) {
            VsockConnection c = it.next();
            VsockPacket p = c.nextPacket(maxPayload);
            if (p == null) {
                it.remove();
                continue;
            }
            it.remove();
            if (c.shutdownSent()) {
                finish(c, "closed by the host");
            } else {
                pending.add(c); // to the back: connections take turns
            }
            return p;
        }
        return null;
    }

    /** Ends every connection, e.g. on device reset or restore. */
    void closeAll(String reason) {
        for (VsockConnection c : List.copyOf(connections.values())) {
            finish(c, reason);
        }
        resets.clear();
        inbox.clear();
        pending.clear();
    }

    private void reset(VsockHeader h) {
        if (h.op() != VsockHeader.OP_RST) { // never answer a reset with a reset
            resets.add(h.resetReply());
        }
    }

    private void finish(VsockConnection c, String reason) {
        connections.remove(new Key((int) c.guestPort(), c.hostPort()));
        pending.remove(c);
        c.markClosed();
        try {
            c.listener.onClosed(reason);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "vsock listener of " + c + " failed on close", e);
        }
    }
}
