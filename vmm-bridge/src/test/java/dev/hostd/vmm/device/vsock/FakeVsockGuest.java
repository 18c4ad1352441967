package dev.hostd.vmm.device.vsock;

import dev.hostd.vmm.device.MmioDevice;
import dev.hostd.vmm.device.virtio.FakeGuestDriver;
import dev.hostd.vmm.device.virtio.GuestQueue;
import dev.hostd.vmm.device.virtio.GuestQueue.Buf;
import dev.hostd.vmm.device.virtio.GuestQueue.Used;
import dev.hostd.vmm.device.virtio.VirtioFeatures;
import dev.hostd.vmm.device.virtio.VirtioMmioTransport;
import dev.hostd.vmm.memory.GuestMemory;
import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A polled vsock guest driver in Java (test code): guest RAM is an Arena segment, the device is
 * reached only through MMIO register accesses and the rings. It posts rx buffers (header split
 * across two descriptors), sends packets on tx, and keeps per-port receive streams and credit.
 */
public final class FakeVsockGuest implements AutoCloseable {
    public record Packet(int op, long srcCid, long dstCid, int srcPort, int dstPort, int flags, int bufAlloc,
                         int fwdCnt, byte[] payload) {}

    public static final int REQUEST = 1, RESPONSE = 2, RST = 3, SHUTDOWN = 4, RW = 5, CREDIT_UPDATE = 6,
            CREDIT_REQUEST = 7;
    static final int HDR = 44;

    public final Arena arena = Arena.ofShared();
    public final GuestMemory memory;
    public final VirtioVsock vsock;
    public final VirtioMmioTransport transport;
    public final FakeGuestDriver driver;
    public final AtomicInteger wakes = new AtomicInteger();
    public final GuestQueue rx;
    public final GuestQueue tx;
    public final GuestQueue event;
    /** The receive buffer the guest advertises on every packet. */
    public int bufAlloc = 256 << 10;
    /** Whether received data counts as consumed at once (fwd_cnt advances) or only on {@link #consume}. */
    public boolean autoConsume = true;
    /** Every packet the guest has received, in order. */
    public final List<Packet> received = new ArrayList<>();

    private final int rxPayload;
    private final long txBuffer;
    private final Map<Integer, long[]> rxBuffers = new HashMap<>(); // head -> {first, second}
    private final Map<Integer, Long> eventBuffers = new HashMap<>(); // head -> buffer
    private final Map<Integer, ByteArrayOutputStream> streams = new HashMap<>();
    private final Map<Integer, Integer> fwdCnt = new HashMap<>();
    private final Map<Integer, Integer> unconsumed = new HashMap<>();

    public FakeVsockGuest(VirtioVsock vsock) {
        this(vsock, 64, 4096);
    }

    public FakeVsockGuest(VirtioVsock vsock, int rxBufferCount, int rxPayload) {
        this(vsock, null, null, 0x10000, rxBufferCount, rxPayload);
    }

    /**
     * A guest of a VM that owns the transport: the driver reaches {@code registers} (e.g. the VM's
     * MMIO bus at the device's slot) and builds its rings in {@code memory}, the VM's RAM, from
     * 64 KiB up. {@link #transport} is null and {@link #service()} is the VM's business.
     */
    public static FakeVsockGuest over(VirtioVsock vsock, MmioDevice registers, GuestMemory memory) {
        return over(vsock, registers, memory, 0x10000);
    }

    /** As {@link #over(VirtioVsock, MmioDevice, GuestMemory)}, with the rings and buffers from {@code heapStart} up (about 400 KiB). */
    public static FakeVsockGuest over(VirtioVsock vsock, MmioDevice registers, GuestMemory memory, long heapStart) {
        return new FakeVsockGuest(vsock, registers, memory, heapStart, 64, 4096);
    }

    private FakeVsockGuest(VirtioVsock vsock, MmioDevice registers, GuestMemory vmMemory, long heapStart, int rxBufferCount,
                           int rxPayload) {
        this.vsock = vsock;
        this.rxPayload = rxPayload;
        memory = vmMemory != null ? vmMemory : new GuestMemory(arena.allocate(32L << 20, 4096));
        transport = registers != null ? null : new VirtioMmioTransport(vsock, memory, wakes::incrementAndGet);
        driver = new FakeGuestDriver(registers != null ? registers : transport, memory, heapStart);
        List<GuestQueue> qs = driver.init(VirtioFeatures.VERSION_1, 3, 256);
        rx = qs.get(0);
        tx = qs.get(1);
        event = qs.get(2);
        txBuffer = driver.alloc(HDR + (64 << 10), 8);
        for (int i = 0; i < rxBufferCount; i++) {
            long first = driver.alloc(30, 8);
            long second = driver.alloc(HDR - 30 + rxPayload, 8);
            postRx(first, second);
        }
        driver.notify(0);
    }

    private void postRx(long first, long second) {
        int head = rx.add(List.of(new Buf(first, 30, true), new Buf(second, HDR - 30 + rxPayload, true)));
        rxBuffers.put(head, new long[] {first, second});
    }

    /** Sends one packet on tx; {@code split} puts the payload in its own descriptor. */
    public void send(int op, int srcPort, int dstPort, int flags, byte[] payload, boolean split) {
        send(op, srcPort, dstPort, flags, payload, split, payload.length);
    }

    public void send(int op, int srcPort, int dstPort, int flags, byte[] payload, boolean split, int lenField) {
        enqueue(op, srcPort, dstPort, flags, payload, split, lenField);
        driver.notify(1);
        tx.pollUsed();
        poll();
    }

    /** Puts a header-only packet on tx without notifying the device: a vCPU's write to QueueNotify will. */
    public void enqueue(int op, int srcPort, int dstPort) {
        enqueue(op, srcPort, dstPort, 0, new byte[0], false, 0);
    }

    private void enqueue(int op, int srcPort, int dstPort, int flags, byte[] payload, boolean split, int lenField) {
        VsockHeader h = new VsockHeader(3, 2, srcPort, dstPort, lenField, VsockHeader.TYPE_STREAM, op, flags, bufAlloc,
                fwdCnt.getOrDefault(srcPort, 0));
        memory.write(txBuffer, h.encode(), 0, HDR);
        memory.write(txBuffer + HDR + 8, payload, 0, payload.length);
        if (split) {
            tx.add(List.of(new Buf(txBuffer, HDR, false), new Buf(txBuffer + HDR + 8, payload.length, false)));
        } else {
            memory.write(txBuffer + HDR, payload, 0, payload.length);
            tx.add(List.of(new Buf(txBuffer, HDR + payload.length, false)));
        }
    }

    public void send(int op, int srcPort, int dstPort) {
        send(op, srcPort, dstPort, 0, new byte[0], false);
    }

    /** REQUEST to the host; returns the op of the host's answer for that port. */
    public int connect(int localPort, int hostPort) {
        int before = received.size();
        send(REQUEST, localPort, hostPort);
        return received.subList(before, received.size()).stream().filter(p -> p.dstPort() == localPort)
                .map(Packet::op).findFirst().orElse(-1);
    }

    /** Writes data as RW packets of at most 64 KiB, alternating single and split descriptors. */
    public void write(int localPort, int hostPort, byte[] data) {
        for (int at = 0, i = 0; at < data.length; i++) {
            int n = Math.min(64 << 10, data.length - at);
            send(RW, localPort, hostPort, 0, java.util.Arrays.copyOfRange(data, at, at + n), i % 2 == 1);
            at += n;
        }
    }

    /** Takes what the host sent on the guest's {@code localPort} so far. */
    public byte[] read(int localPort) {
        ByteArrayOutputStream s = streams.remove(localPort);
        return s == null ? new byte[0] : s.toByteArray();
    }

    /** Marks received data as consumed and tells the host with CREDIT_UPDATE. */
    public void consume(int localPort, int hostPort) {
        fwdCnt.merge(localPort, unconsumed.getOrDefault(localPort, 0), Integer::sum);
        unconsumed.remove(localPort);
        send(CREDIT_UPDATE, localPort, hostPort);
    }

    /** Lets the device deliver queued host work (as the VMM does when the guest waits), then polls. */
    public boolean service() {
        boolean visible = transport.service();
        poll();
        return visible;
    }

    /** Reads every used rx buffer, reposts it, kicks rx; repeats until the device has nothing more. */
    public List<Packet> poll() {
        List<Packet> got = new ArrayList<>();
        for (List<Used> used; !(used = rx.pollUsed()).isEmpty(); ) {
            for (Used u : used) {
                long[] buf = rxBuffers.remove(u.head());
                byte[] bytes = new byte[u.length()];
                int first = Math.min(30, u.length());
                memory.read(buf[0], bytes, 0, first);
                memory.read(buf[1], bytes, first, u.length() - first);
                VsockHeader h = VsockHeader.decode(bytes);
                if (h.len() != u.length() - HDR) {
                    throw new AssertionError("header len " + h.len() + " but used length " + u.length());
                }
                Packet p = new Packet(h.op(), h.srcCid(), h.dstCid(), h.srcPort(), h.dstPort(), h.flags(), h.bufAlloc(),
                        h.fwdCnt(), java.util.Arrays.copyOfRange(bytes, HDR, bytes.length));
                got.add(p);
                if (p.op() == RW) {
                    streams.computeIfAbsent(p.dstPort(), k -> new ByteArrayOutputStream()).writeBytes(p.payload());
                    if (autoConsume) {
                        fwdCnt.merge(p.dstPort(), p.payload().length, Integer::sum);
                    } else {
                        unconsumed.merge(p.dstPort(), p.payload().length, Integer::sum);
                    }
                }
                postRx(buf[0], buf[1]);
            }
            driver.notify(0);
        }
        received.addAll(got);
        return got;
    }

    /** Posts one 4-byte event buffer (struct virtio_vsock_event) and notifies the event queue. */
    public void postEventBuffer() {
        long buffer = driver.alloc(4, 8);
        eventBuffers.put(event.add(List.of(new Buf(buffer, 4, true))), buffer);
        driver.notify(2);
    }

    /** The ids of the events the device used since the last call. */
    public List<Integer> pollEvents() {
        List<Integer> ids = new ArrayList<>();
        for (Used u : event.pollUsed()) {
            if (u.length() != 4) {
                throw new AssertionError("event of " + u.length() + " bytes, not 4");
            }
            byte[] id = new byte[4];
            memory.read(eventBuffers.remove(u.head()), id, 0, 4);
            ids.add(java.nio.ByteBuffer.wrap(id).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt());
        }
        return ids;
    }

    public List<Packet> ops(int op) {
        return received.stream().filter(p -> p.op() == op).toList();
    }

    @Override
    public void close() {
        arena.close();
    }
}
