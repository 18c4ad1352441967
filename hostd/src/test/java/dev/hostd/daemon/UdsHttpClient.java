package dev.hostd.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpVersion;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A real HTTP/1.1 client over a Unix domain socket for the tests: Netty's HTTP codec on an epoll
 * domain socket channel (the JDK's HttpClient cannot use Unix sockets). One connection per request.
 */
final class UdsHttpClient implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper();

    record Response(String method, String path, int status, String contentType, String location, String serverTiming, byte[] body) {
        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }

        JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new UncheckedIOException("not JSON (" + status + " " + contentType + "): " + text(), e);
            }
        }

        @Override
        public String toString() {
            return method + " " + path + " -> " + status + " " + contentType + " " + text();
        }
    }

    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, EpollIoHandler.newFactory());
    private final Path socket;

    UdsHttpClient(Path socket) {
        this.socket = socket;
    }

    Response get(String path) {
        return send("GET", path, null, null);
    }

    Response delete(String path) {
        return send("DELETE", path, null, null);
    }

    Response post(String path) {
        return send("POST", path, null, null);
    }

    Response post(String path, Object json) {
        try {
            return send("POST", path, "application/json", json instanceof String s ? s.getBytes(StandardCharsets.UTF_8) : JSON.writeValueAsBytes(json));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    Response send(String method, String path, String contentType, byte[] body) {
        CompletableFuture<Response> answer = new CompletableFuture<>();
        Bootstrap bootstrap = new Bootstrap().group(group).channel(EpollDomainSocketChannel.class)
                // The server may answer (e.g. 413) and close before it read the whole body: keep reading after a failed write.
                .option(ChannelOption.AUTO_CLOSE, false)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new HttpClientCodec(), new HttpObjectAggregator(64 << 20),
                                new SimpleChannelInboundHandler<FullHttpResponse>() {
                                    @Override
                                    protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse r) {
                                        answer.complete(new Response(method, path, r.status().code(), r.headers().get(HttpHeaderNames.CONTENT_TYPE),
                                                r.headers().get(HttpHeaderNames.LOCATION), String.join(", ", r.headers().getAll("Server-Timing")),
                                                ByteBufUtil.getBytes(r.content())));
                                        ctx.close();
                                    }

                                    @Override
                                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                        answer.completeExceptionally(cause);
                                        ctx.close();
                                    }

                                    @Override
                                    public void channelInactive(ChannelHandlerContext ctx) {
                                        answer.completeExceptionally(new IOException("connection closed before an answer to " + method + " " + path));
                                    }
                                });
                    }
                });
        try {
            Channel ch = bootstrap.connect(new DomainSocketAddress(socket.toString())).sync().channel();
            FullHttpRequest request = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.valueOf(method), path,
                    body == null ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(body));
            request.headers().set(HttpHeaderNames.HOST, "hostd");
            request.headers().set(HttpHeaderNames.CONNECTION, "close");
            request.headers().set(HttpHeaderNames.CONTENT_LENGTH, body == null ? 0 : body.length);
            if (contentType != null) {
                request.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
            }
            ch.writeAndFlush(request);
            return answer.get(120, TimeUnit.SECONDS); // a guard against a hang, not a timing assertion
        } catch (Exception e) {
            throw new IllegalStateException(method + " " + path + " over " + socket + " failed: " + e, e);
        }
    }

    @Override
    public void close() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
