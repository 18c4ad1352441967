package dev.hostd.bench.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The RTT proxy passes bytes unchanged in both directions and counts what it delivered to clients. */
class DelayProxyTest {
    @Test
    void relaysBothDirectionsIntactAndCountsDownstreamBytes() throws Exception {
        byte[] payload = new byte[3 * 1024 * 1024 + 17];
        new Random(42).nextBytes(payload);
        try (ServerSocket upstream = new ServerSocket(0, 8, InetAddress.getLoopbackAddress())) {
            Thread server = Thread.ofVirtual().start(() -> {
                try (Socket s = upstream.accept()) {
                    byte[] request = s.getInputStream().readNBytes(5);
                    OutputStream out = s.getOutputStream();
                    out.write(request);
                    out.write(payload);
                    s.shutdownOutput();
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            try (DelayProxy proxy = new DelayProxy((InetSocketAddress) upstream.getLocalSocketAddress(), 4)) {
                URI uri = URI.create(proxy.url());
                try (Socket client = new Socket(uri.getHost(), uri.getPort())) {
                    client.getOutputStream().write("hello".getBytes());
                    InputStream in = client.getInputStream();
                    assertArrayEquals("hello".getBytes(), in.readNBytes(5));
                    assertArrayEquals(payload, in.readAllBytes());
                }
                server.join();
                assertEquals(5 + payload.length, proxy.downstreamBytes());
                assertEquals(1, proxy.connections());
            }
        }
    }
}
