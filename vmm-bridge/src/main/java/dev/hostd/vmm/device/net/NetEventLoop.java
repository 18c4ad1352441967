package dev.hostd.vmm.device.net;

import dev.hostd.vmm.VmmException;
import dev.hostd.vmm.internal.linux.Errno;
import dev.hostd.vmm.internal.linux.NetLibc;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The shared back-end threads of every virtio-net device: each thread waits in {@code epoll_wait}
 * on the TAPs assigned to it (edge-triggered) and, when one becomes readable, only tells the
 * device and wakes its vCPU. Frames are moved by the vCPU thread itself, straight from the TAP
 * into the guest's buffers, so no host thread but the vCPU's touches guest memory and an idle
 * sandbox costs no thread at all. A handful of threads serves every sandbox of the process.
 */
public final class NetEventLoop {
    private static final System.Logger LOG = System.getLogger(NetEventLoop.class.getName());
    private static final int MAX_EVENTS = 64;
    private static volatile NetEventLoop shared;

    private final Loop[] loops;
    private final AtomicInteger next = new AtomicInteger();
    private final AtomicLong ids = new AtomicLong();

    /** A registration: closing it stops the callbacks (a late event for it is ignored). */
    public interface Registration extends AutoCloseable {
        @Override
        void close();
    }

    private NetEventLoop(int threads) {
        loops = new Loop[threads];
        for (int i = 0; i < threads; i++) {
            loops[i] = new Loop("hostd-net-" + i);
        }
    }

    /** The process-wide loop: {@code hostd.net.event-threads} threads (default 1), started on first use. */
    public static NetEventLoop shared() {
        NetEventLoop l = shared;
        if (l == null) {
            synchronized (NetEventLoop.class) {
                if (shared == null) {
                    shared = new NetEventLoop(Math.max(1, Integer.getInteger("hostd.net.event-threads", 1)));
                }
                l = shared;
            }
        }
        return l;
    }

    /** Calls {@code onReadable} (on a loop thread; it must only set a flag and wake) each time frames arrive on {@code tap}. */
    public Registration register(Tap tap, Runnable onReadable) {
        Loop loop = loops[Math.floorMod(next.getAndIncrement(), loops.length)];
        return loop.add(tap, onReadable, ids.incrementAndGet());
    }

    private static final class Loop implements Runnable {
        private final int epfd = NetLibc.epollCreate();
        private final Map<Long, Runnable> callbacks = new ConcurrentHashMap<>();

        Loop(String name) {
            Thread.ofPlatform().daemon(true).name(name).stackSize(256 << 10).start(this);
        }

        Registration add(Tap tap, Runnable onReadable, long id) {
            int fd = tap.fd();
            callbacks.put(id, onReadable);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment ev = arena.allocate(NetLibc.EPOLL_EVENT_BYTES);
                ev.set(ValueLayout.JAVA_INT_UNALIGNED, 0, NetLibc.EPOLLIN | NetLibc.EPOLLET);
                ev.set(ValueLayout.JAVA_LONG_UNALIGNED, 4, id);
                int r = NetLibc.epollCtlRaw(epfd, NetLibc.EPOLL_CTL_ADD, fd, ev);
                if (r < 0) {
                    callbacks.remove(id);
                    throw VmmException.fromErrno("epoll_ctl ADD " + tap.name(), -r);
                }
            }
            return () -> {
                if (callbacks.remove(id) != null) {
                    NetLibc.epollCtlRaw(epfd, NetLibc.EPOLL_CTL_DEL, fd, MemorySegment.NULL); // ENOENT/EBADF after close: fine
                }
            };
        }

        @Override
        public void run() {
            MemorySegment events = Arena.global().allocate(NetLibc.EPOLL_EVENT_BYTES * MAX_EVENTS, 8);
            while (true) {
                int n = NetLibc.epollWaitRaw(epfd, events, MAX_EVENTS, -1);
                if (n == -Errno.EINTR) {
                    continue;
                }
                if (n < 0) {
                    LOG.log(System.Logger.Level.ERROR, "epoll_wait failed: {0}; the net event loop stops", Errno.name(-n));
                    return;
                }
                for (int i = 0; i < n; i++) {
                    long id = events.get(ValueLayout.JAVA_LONG_UNALIGNED, i * NetLibc.EPOLL_EVENT_BYTES + 4);
                    Runnable callback = callbacks.get(id);
                    if (callback != null) {
                        try {
                            callback.run();
                        } catch (RuntimeException e) {
                            LOG.log(System.Logger.Level.ERROR, "net readiness callback failed", e);
                        }
                    }
                }
            }
        }
    }
}
