package dev.hostd.cli;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerDomainSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A real HTTP/1.1 server on a Unix domain socket (Netty, JDK domain-socket channels) that answers
 * with canned responses per "METHOD /path" and records what it was sent. It stands in for the
 * daemon in CLI tests; a route answered with {@link #SILENT} never answers.
 */
final class FakeDaemon implements AutoCloseable {
    record Canned(int status, String contentType, String body) {}

    record Received(String method, String uri, String contentType, String body) {}

    static final Canned SILENT = new Canned(-1, null, null);

    private final Path socket;
    private final EventLoopGroup group;
    private final Channel server;
    private final Map<String, Canned> routes = new ConcurrentHashMap<>();
    final List<Received> received = new CopyOnWriteArrayList<>();

    FakeDaemon(Path socket) throws InterruptedException {
        this.socket = socket;
        this.group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try {
            this.server = new ServerBootstrap()
                    .group(group)
                    .channel(NioServerDomainSocketChannel.class)
                    .childHandler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(1 << 20),
                                    new Handler());
                        }
                    })
                    .bind(UnixDomainSocketAddress.of(socket)).sync().channel();
        } catch (RuntimeException | InterruptedException e) {
            group.shutdownGracefully(0, 0, java.util.concurrent.TimeUnit.SECONDS);
            throw e;
        }
    }

    Path socket() {
        return socket;
    }

    /** Answers {@code method path} (path without query) with a JSON body. */
    FakeDaemon json(String method, String path, int status, String body) {
        return route(method, path, new Canned(status, "application/json", body));
    }

    /** Answers with an RFC 9457 problem. */
    FakeDaemon problem(String method, String path, int status, String code, String title, String detail) {
        String body = "{\"type\":\"https://hostd.dev/problems/" + code + "\",\"title\":\"" + title + "\",\"status\":"
                + status + ",\"detail\":\"" + detail + "\",\"code\":\"" + code + "\"}";
        return route(method, path, new Canned(status, "application/problem+json", body));
    }

    FakeDaemon route(String method, String path, Canned canned) {
        routes.put(method + " " + path, canned);
        return this;
    }

    Received last() {
        return received.getLast();
    }

    private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            String uri = req.uri();
            String path = uri.contains("?") ? uri.substring(0, uri.indexOf('?')) : uri;
            received.add(new Received(req.method().name(), uri, req.headers().get(HttpHeaderNames.CONTENT_TYPE),
                    req.content().toString(StandardCharsets.UTF_8)));
            Canned c = routes.get(req.method().name() + " " + path);
            if (c == SILENT) {
                return;
            }
            if (c == null) {
                c = new Canned(404, "application/problem+json", "{\"type\":\"https://hostd.dev/problems/not-found\","
                        + "\"title\":\"Not Found\",\"status\":404,\"detail\":\"no route " + path + "\",\"code\":\"not-found\"}");
            }
            byte[] body = c.body() == null ? new byte[0] : c.body().getBytes(StandardCharsets.UTF_8);
            FullHttpResponse resp = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                    HttpResponseStatus.valueOf(c.status()), Unpooled.wrappedBuffer(body));
            if (c.contentType() != null) {
                resp.headers().set(HttpHeaderNames.CONTENT_TYPE, c.contentType());
            }
            HttpUtil.setContentLength(resp, body.length);
            boolean keepAlive = HttpUtil.isKeepAlive(req);
            HttpUtil.setKeepAlive(resp, keepAlive);
            var f = ctx.writeAndFlush(resp);
            if (!keepAlive) {
                f.addListener(ChannelFutureListener.CLOSE);
            }
        }
    }

    private boolean closed;

    @Override
    public synchronized void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        try {
            server.close().syncUninterruptibly();
        } finally {
            group.shutdownGracefully(0, 0, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
            Files.deleteIfExists(socket);
        }
    }
}
