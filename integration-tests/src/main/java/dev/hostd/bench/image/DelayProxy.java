package dev.hostd.bench.image;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Arrays;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TCP proxy on loopback that adds a round-trip time to a link: a connection is made after one
 * RTT (the handshake), and every byte is delivered half an RTT after it was read, in each direction,
 * without limiting throughput (the delay line is unbounded; the shaped veth behind it limits rate).
 * Counts the bytes sent from the upstream to clients: what a client downloaded.
 */
final class DelayProxy implements AutoCloseable {
    private final ServerSocket server;
    private final InetSocketAddress upstream;
    private final long oneWayNanos;
    private final AtomicLong downstreamBytes = new AtomicLong();
    private final AtomicLong connections = new AtomicLong();
    private final Thread acceptor;

    DelayProxy(InetSocketAddress upstream, int rttMillis) throws IOException {
        this.upstream = upstream;
        this.oneWayNanos = rttMillis * 1_000_000L / 2;
        this.server = new ServerSocket(0, 512, InetAddress.getLoopbackAddress());
        this.acceptor = Thread.ofPlatform().daemon().name("delay-proxy").start(this::acceptLoop);
    }

    String url() {
        return "http://127.0.0.1:" + server.getLocalPort();
    }

    long downstreamBytes() {
        return downstreamBytes.get();
    }

    long connections() {
        return connections.get();
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket client = server.accept();
                connections.incrementAndGet();
                Thread.ofVirtual().start(() -> serve(client));
            } catch (IOException e) {
                if (!server.isClosed()) {
                    System.err.println("delay-proxy: accept: " + e.getMessage());
                }
            }
        }
    }

    private void serve(Socket client) {
        try (client; Socket up = new Socket()) {
            sleepUntil(System.nanoTime() + 2 * oneWayNanos); // SYN/SYN-ACK over the delayed link
            up.connect(upstream);
            up.setTcpNoDelay(true);
            client.setTcpNoDelay(true);
            Thread a = pump(client.getInputStream(), up.getOutputStream(), up, null);
            Thread b = pump(up.getInputStream(), client.getOutputStream(), client, downstreamBytes);
            a.join();
            b.join();
        } catch (IOException | InterruptedException e) {
            // a client or the registry dropped the connection; the other side sees it closed
        }
    }

    /** Copies in to out through a delay line; half-closes the far side when in ends. */
    private Thread pump(InputStream in, OutputStream out, Socket far, AtomicLong counter) {
        BlockingQueue<Delayed> line = new LinkedBlockingQueue<>();
        Thread writer = Thread.ofVirtual().start(() -> {
            try {
                while (true) {
                    Delayed next = line.take();
                    byte[] chunk = next.bytes();
                    sleepUntil(next.dueNanos());
                    if (chunk.length == 0) {
                        far.shutdownOutput();
                        return;
                    }
                    out.write(chunk);
                    out.flush();
                    if (counter != null) {
                        counter.addAndGet(chunk.length);
                    }
                }
            } catch (IOException | InterruptedException e) {
                closeQuietly(far);
            }
        });
        return Thread.ofVirtual().start(() -> {
            byte[] buf = new byte[64 * 1024];
            try {
                int n;
                while ((n = in.read(buf)) > 0) {
                    line.add(new Delayed(System.nanoTime() + oneWayNanos, Arrays.copyOf(buf, n)));
                }
            } catch (IOException e) {
                // end of this direction
            }
            line.add(new Delayed(System.nanoTime() + oneWayNanos, new byte[0]));
            try {
                writer.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
    }

    /** Bytes read at one moment, to be written half an RTT later; empty = end of stream. */
    private record Delayed(long dueNanos, byte[] bytes) {}

    private static void sleepUntil(long nanoTime) throws InterruptedException {
        long left;
        while ((left = nanoTime - System.nanoTime()) > 0) {
            Thread.sleep(left / 1_000_000, (int) (left % 1_000_000));
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // already closed
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        try {
            acceptor.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
