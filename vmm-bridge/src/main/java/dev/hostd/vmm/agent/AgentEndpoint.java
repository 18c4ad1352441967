package dev.hostd.vmm.agent;

import dev.hostd.vmm.device.vsock.VirtioVsock;
import dev.hostd.vmm.device.vsock.VsockConnection;
import dev.hostd.vmm.device.vsock.VsockStreamListener;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * The host side of the agent channel of one VM (docs/guest-abi.md, "The agent protocol"). Listens
 * on vsock port {@value #AGENT_PORT}; a new guest connection replaces the previous one, failing the
 * invokes still pending on it.
 *
 * <p>Thread-safe. Frames arrive on the device thread (the test guest's vCPU thread; a Linux VM's
 * virtio service thread, holding its device lock), so futures are completed there: dependent
 * stages that may block must use the {@code *Async} variants.
 */
public final class AgentEndpoint {
    public static final int AGENT_PORT = 1024;
    /** The largest argument {@code invoke} accepts for a function name of {@code n} bytes is this minus 1 minus n. */
    public static final int MAX_PAYLOAD = AgentFrame.MAX_PAYLOAD;

    private static final System.Logger LOG = System.getLogger(AgentEndpoint.class.getName());

    private final Object lock = new Object();
    private final List<CompletableFuture<IdentityReport>> helloWaiters = new ArrayList<>();
    private Session current;
    private long nextRequestId = 1;
    private boolean closed;

    public AgentEndpoint(VirtioVsock vsock) {
        vsock.listen(AGENT_PORT, this::accept);
    }

    /** Completes with the next HELLO received after this call (from the current or a later connection). */
    public CompletableFuture<IdentityReport> expectHello() {
        CompletableFuture<IdentityReport> f = new CompletableFuture<>();
        synchronized (lock) {
            if (closed) {
                return CompletableFuture.failedFuture(new AgentException("agent endpoint is closed"));
            }
            helloWaiters.add(f);
        }
        return f;
    }

    /** Sends INVOKE; completes with the matching RESULT. Fails fast if not connected or the payload would exceed 1 MiB. */
    public CompletableFuture<InvokeResult> invoke(String function, byte[] argument) {
        byte[] name = function.getBytes(StandardCharsets.US_ASCII);
        if (name.length == 0 || name.length > 255 || !StandardCharsets.US_ASCII.newEncoder().canEncode(function)) {
            return CompletableFuture.failedFuture(new AgentException("function name must be 1-255 ASCII bytes: '" + function + "'"));
        }
        long payloadLength = 1L + name.length + argument.length;
        if (payloadLength > MAX_PAYLOAD) {
            return CompletableFuture.failedFuture(new AgentException("argument of " + argument.length + " bytes for '"
                    + function + "' exceeds the limit of " + (MAX_PAYLOAD - 1 - name.length) + " bytes"));
        }
        CompletableFuture<InvokeResult> f = new CompletableFuture<>();
        Session session;
        long id;
        synchronized (lock) {
            if (closed) {
                return CompletableFuture.failedFuture(new AgentException("agent endpoint is closed"));
            }
            if (current == null || !current.connection.isOpen()) {
                return CompletableFuture.failedFuture(new AgentException("agent is not connected"));
            }
            session = current;
            id = nextRequestId++;
            session.pending.put(id, f);
        }
        byte[] payload = new byte[(int) payloadLength];
        payload[0] = (byte) name.length;
        System.arraycopy(name, 0, payload, 1, name.length);
        System.arraycopy(argument, 0, payload, 1 + name.length, argument.length);
        try {
            session.connection.send(new AgentFrame(AgentFrame.INVOKE, 0, id, payload).encode());
        } catch (IllegalStateException e) {
            synchronized (lock) {
                session.pending.remove(id);
            }
            f.completeExceptionally(new AgentException("agent connection closed: " + e.getMessage()));
        }
        return f;
    }

    public boolean connected() {
        synchronized (lock) {
            return current != null && current.connection.isOpen();
        }
    }

    /** Closes the connection and fails everything pending; later guest connections are refused. */
    public void close() {
        List<CompletableFuture<?>> failed = new ArrayList<>();
        VsockConnection connection = null;
        synchronized (lock) {
            closed = true;
            failed.addAll(helloWaiters);
            helloWaiters.clear();
            if (current != null) {
                failed.addAll(current.drain());
                connection = current.connection;
                current = null;
            }
        }
        if (connection != null) {
            connection.close();
        }
        fail(failed, new AgentException("agent endpoint closed"));
    }

    private VsockStreamListener accept(VsockConnection connection) {
        Session old;
        Session session = new Session(connection);
        List<CompletableFuture<?>> failed;
        synchronized (lock) {
            if (closed) {
                return null;
            }
            old = current;
            current = session;
            failed = old == null ? List.of() : old.drain();
        }
        if (old != null) {
            LOG.log(System.Logger.Level.INFO, "agent connection {0} replaced by {1}", old.connection, connection);
            old.connection.close();
            fail(failed, new AgentException("agent connection replaced by a new guest connection"));
        }
        return session;
    }

    private static void fail(List<CompletableFuture<?>> futures, AgentException e) {
        futures.forEach(f -> f.completeExceptionally(e));
    }

    /** One guest connection: its frame decoder and the invokes waiting for a RESULT on it. */
    private final class Session implements VsockStreamListener {
        final VsockConnection connection;
        final AgentFrameDecoder decoder = new AgentFrameDecoder();
        final Map<Long, CompletableFuture<InvokeResult>> pending = new HashMap<>();
        boolean broken;

        Session(VsockConnection connection) {
            this.connection = connection;
        }

        /** Removes and returns every pending future; caller holds the lock. */
        List<CompletableFuture<?>> drain() {
            List<CompletableFuture<?>> all = new ArrayList<>(pending.values());
            pending.clear();
            return all;
        }

        @Override
        public void onData(byte[] data) {
            if (broken) {
                return;
            }
            List<AgentFrame> frames;
            try {
                frames = decoder.feed(data);
            } catch (AgentProtocolException e) {
                protocolError(e);
                return;
            }
            for (AgentFrame frame : frames) {
                try {
                    handle(frame);
                } catch (AgentProtocolException e) {
                    protocolError(e);
                    return;
                }
            }
        }

        private void handle(AgentFrame frame) {
            switch (frame.type()) {
                case AgentFrame.HELLO -> {
                    List<CompletableFuture<IdentityReport>> waiters;
                    synchronized (lock) {
                        waiters = List.copyOf(helloWaiters);
                        helloWaiters.clear();
                    }
                    try {
                        IdentityReport report = IdentityReport.parse(frame.payload());
                        waiters.forEach(w -> w.complete(report));
                    } catch (AgentProtocolException e) {
                        waiters.forEach(w -> w.completeExceptionally(e));
                        throw e;
                    }
                }
                case AgentFrame.RESULT -> {
                    CompletableFuture<InvokeResult> f;
                    synchronized (lock) {
                        f = pending.remove(frame.requestId());
                    }
                    if (f == null) {
                        throw new AgentProtocolException("RESULT for unknown request id " + frame.requestId());
                    }
                    try {
                        f.complete(InvokeResult.parse(frame.payload()));
                    } catch (AgentProtocolException e) {
                        f.completeExceptionally(e);
                        throw e;
                    }
                }
                default -> throw new AgentProtocolException("unexpected frame " + AgentFrame.typeName(frame.type())
                        + " from the guest");
            }
        }

        /** A guest that breaks the protocol loses its connection; pending invokes fail with the reason. */
        private void protocolError(AgentProtocolException e) {
            LOG.log(System.Logger.Level.WARNING, "agent protocol error on " + connection + ": " + e.getMessage());
            broken = true;
            List<CompletableFuture<?>> failed;
            synchronized (lock) {
                failed = drain();
                if (current == this) {
                    current = null;
                }
            }
            connection.close();
            fail(failed, e);
        }

        @Override
        public void onClosed(String reason) {
            List<CompletableFuture<?>> failed;
            synchronized (lock) {
                failed = drain();
                if (current == this) {
                    current = null;
                }
            }
            fail(failed, new AgentException("agent connection closed: " + reason));
        }
    }
}
