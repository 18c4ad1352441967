package dev.hostd.vmm.device.virtio;

import static dev.hostd.vmm.device.virtio.FakeGuestDriver.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.hostd.vmm.device.virtio.GuestQueue.Buf;
import dev.hostd.vmm.device.virtio.GuestQueue.Used;
import dev.hostd.vmm.memory.GuestMemory;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class VirtioMmioTransportTest {
    static final long RAM = 1 << 20;

    Arena arena;
    GuestMemory memory;
    LoopbackDevice device;
    VirtioMmioTransport transport;
    FakeGuestDriver driver;
    AtomicInteger wakes = new AtomicInteger();
    AtomicInteger interrupts = new AtomicInteger();

    @BeforeEach
    void setUp() {
        arena = Arena.ofConfined();
        memory = new GuestMemory(arena.allocate(RAM, 4096));
        device = new LoopbackDevice();
        transport = new VirtioMmioTransport(device, memory, wakes::incrementAndGet, interrupts::incrementAndGet);
        driver = new FakeGuestDriver(transport, memory, 0x1000);
    }

    @AfterEach
    void tearDown() {
        arena.close();
    }

    @Test
    void identificationRegistersAndConfigSpace() {
        assertEquals(0x74726976, driver.reg(MAGIC));
        assertEquals(2, driver.reg(VERSION));
        assertEquals(LoopbackDevice.ID, driver.reg(DEVICE_ID));
        assertEquals(0x48535444, driver.reg(VENDOR_ID));
        assertEquals(LoopbackDevice.FEATURES, driver.deviceFeatures());
        driver.setReg(DEVICE_FEATURES_SEL, 7);
        assertEquals(0, driver.reg(DEVICE_FEATURES));
        driver.setReg(QUEUE_SEL, 0);
        assertEquals(16, driver.reg(QUEUE_NUM_MAX));
        driver.setReg(QUEUE_SEL, 1);
        assertEquals(0, driver.reg(QUEUE_NUM_MAX), "queues beyond the device's count do not exist");
        assertEquals(0x11223344, driver.reg(CONFIG));
        assertEquals(0, transport.read(MAGIC, 2), "registers answer 32-bit accesses only");
        assertEquals(0, driver.status());
    }

    @Test
    void initSequenceActivatesTheDevice() {
        List<GuestQueue> queues = driver.init(VirtioFeatures.VERSION_1, 1, 8);
        assertEquals(DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER | DeviceStatus.FEATURES_OK | DeviceStatus.DRIVER_OK,
                transport.status());
        assertEquals(1, device.activations);
        driver.setReg(QUEUE_SEL, 0);
        assertEquals(1, driver.reg(QUEUE_READY));
        assertEquals(1, queues.size());
        driver.setReg(STATUS, 0);
        assertEquals(0, transport.status());
        assertEquals(1, device.resets);
        assertEquals(0, driver.reg(QUEUE_READY), "reset un-readies queues");
    }

    @Test
    void refusesFeaturesNotOfferedOrWithoutVersion1() {
        assertFalse(driver.negotiate(VirtioFeatures.VERSION_1 | 1L << 5), "bit 5 was not offered");
        assertEquals(0, transport.status() & DeviceStatus.FEATURES_OK);
        assertFalse(driver.negotiate(1L), "a legacy driver (no VERSION_1) is refused");
        assertTrue(driver.negotiate(VirtioFeatures.VERSION_1 | 1L));
        driver.setReg(DRIVER_FEATURES_SEL, 0);
        driver.setReg(DRIVER_FEATURES, 0x20);
        driver.setupQueue(0, 4);
        driver.driverOk();
        assertNotEquals(0, transport.status() & DeviceStatus.DRIVER_OK, "features are frozen after FEATURES_OK");
        assertEquals(0, transport.status() & DeviceStatus.DEVICE_NEEDS_RESET);
    }

    @Test
    void driverOkWithoutFeaturesOkNeedsReset() {
        driver.setReg(STATUS, DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER);
        driver.setReg(STATUS, DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER | DeviceStatus.DRIVER_OK);
        assertNotEquals(0, transport.status() & DeviceStatus.DEVICE_NEEDS_RESET);
        assertEquals(0, device.activations);
    }

    @Test
    void illegalQueueConfigurationNeedsReset() {
        assertTrue(driver.negotiate(VirtioFeatures.VERSION_1));
        driver.program(0, 6, 0x2000, 0x3000, 0x4000);
        driver.setReg(QUEUE_READY, 1);
        assertEquals(0, driver.reg(QUEUE_READY), "size 6 is not a power of two");
        assertNotEquals(0, transport.status() & DeviceStatus.DEVICE_NEEDS_RESET);

        assertTrue(driver.negotiate(VirtioFeatures.VERSION_1));
        assertEquals(0, transport.status() & DeviceStatus.DEVICE_NEEDS_RESET, "status 0 clears NEEDS_RESET");
        driver.program(0, 32, 0x2000, 0x3000, 0x4000);
        driver.setReg(QUEUE_READY, 1);
        assertEquals(0, driver.reg(QUEUE_READY), "32 > max 16");

        assertTrue(driver.negotiate(VirtioFeatures.VERSION_1));
        driver.program(0, 16, RAM - 16, 0x3000, 0x4000);
        driver.setReg(QUEUE_READY, 1);
        assertEquals(0, driver.reg(QUEUE_READY), "descriptor table past the end of RAM");
        assertNotEquals(0, transport.status() & DeviceStatus.DEVICE_NEEDS_RESET);

        assertTrue(driver.negotiate(VirtioFeatures.VERSION_1));
        driver.program(0, 16, 0x2000, 0x3000, 0x4000L | 1L << 40);
        driver.setReg(QUEUE_READY, 1);
        assertEquals(0, driver.reg(QUEUE_READY), "used ring above 4 GiB, outside RAM");
    }

    @Test
    void chainsAcrossDescriptorsAreReadAndWrittenAsOneStream() {
        GuestQueue q = driver.init(VirtioFeatures.VERSION_1, 1, 8).getFirst();
        long a = driver.alloc(3, 1), b = driver.alloc(5, 1), out1 = driver.alloc(2, 1), out2 = driver.alloc(10, 1);
        memory.write(a, "abc".getBytes(StandardCharsets.US_ASCII), 0, 3);
        memory.write(b, "defgh".getBytes(StandardCharsets.US_ASCII), 0, 5);
        int head = q.add(List.of(new Buf(a, 3, false), new Buf(b, 5, false), new Buf(out1, 2, true), new Buf(out2, 10, true)));
        driver.notify(0);
        assertEquals(List.of(new Used(head, 8)), q.pollUsed(), "processed before the notify returned");
        byte[] got = new byte[8];
        memory.read(out1, got, 0, 2);
        memory.read(out2, got, 2, 6);
        assertEquals("hgfedcba", new String(got, StandardCharsets.US_ASCII));
        assertEquals(8, q.freeDescriptors());
    }

    @Test
    void usedBuffersSetInterruptStatusAndWakeButHonourNoInterrupt() {
        GuestQueue q = driver.init(VirtioFeatures.VERSION_1, 1, 8).getFirst();
        long buf = driver.alloc(4, 1);
        q.add(List.of(new Buf(buf, 4, true)));
        driver.notify(0);
        assertEquals(1, driver.reg(INTERRUPT_STATUS));
        assertEquals(1, wakes.get());
        assertEquals(0, interrupts.get(), "NO_INTERRUPT suppresses the interrupt line");
        assertEquals(1, q.pollUsed().size(), "but never the used ring");
        driver.setReg(INTERRUPT_ACK, 1);
        assertEquals(0, driver.reg(INTERRUPT_STATUS));
        q.setAvailFlags(0);
        q.add(List.of(new Buf(buf, 4, true)));
        driver.notify(0);
        assertEquals(1, interrupts.get());
        assertFalse(transport.service(), "nothing new to deliver");
    }

    private void assertBrokenAfter(Runnable corrupt) {
        GuestQueue q = driver.init(VirtioFeatures.VERSION_1, 1, 8).getFirst();
        corrupt.run();
        assertDoesNotThrow(() -> driver.notify(0));
        assertNotEquals(0, transport.status() & DeviceStatus.DEVICE_NEEDS_RESET);
        assertEquals(0, q.usedIdx(), "nothing was used");
        int processed = device.processed;
        long good = driver.alloc(4, 1);
        q.add(List.of(new Buf(good, 4, true)));
        driver.notify(0);
        assertFalse(transport.service());
        assertEquals(processed, device.processed, "a broken device is not called again");
        // The driver resets and starts over: the device works again.
        q = driver.init(VirtioFeatures.VERSION_1, 1, 8).getFirst();
        q.add(List.of(new Buf(good, 4, true)));
        driver.notify(0);
        assertEquals(1, q.pollUsed().size());
    }

    @Test
    void descriptorOutsideRamNeedsReset() {
        assertBrokenAfter(() -> rawChain((q) -> q.writeDescriptor(0, RAM - 2, 4, 2, 0)));
    }

    @Test
    void descriptorAddressOverflowNeedsReset() {
        assertBrokenAfter(() -> rawChain((q) -> q.writeDescriptor(0, -8L, 16, 2, 0)));
    }

    @Test
    void descriptorLoopNeedsReset() {
        assertBrokenAfter(() -> rawChain((q) -> {
            q.writeDescriptor(0, 0x8000, 4, 1, 1);
            q.writeDescriptor(1, 0x8000, 4, 1, 0);
        }));
    }

    @Test
    void nextIndexOutOfRangeNeedsReset() {
        assertBrokenAfter(() -> rawChain((q) -> q.writeDescriptor(0, 0x8000, 4, 1, 8)));
    }

    @Test
    void availIndexJumpNeedsReset() {
        assertBrokenAfter(() -> rawChain((q) -> q.setAvailIdx(9)));
    }

    @Test
    void indirectDescriptorNeedsReset() {
        assertBrokenAfter(() -> rawChain((q) -> q.writeDescriptor(0, 0x8000, 16, 4, 0)));
    }

    /** Re-programs queue 0 with a fresh driver-side view, makes descriptor 0 available and lets {@code corrupt} edit it. */
    private void rawChain(java.util.function.Consumer<GuestQueue> corrupt) {
        driver.setReg(STATUS, 0);
        assertTrue(driver.negotiate(VirtioFeatures.VERSION_1));
        GuestQueue q = driver.setupQueue(0, 8);
        driver.driverOk();
        q.writeDescriptor(0, 0x8000, 4, 2, 0);
        q.publish(0);
        corrupt.accept(q);
    }

    @Test
    void saveAndRestoreRoundTripContinuesTheRings() {
        GuestQueue q = driver.init(VirtioFeatures.VERSION_1, 1, 8).getFirst();
        long buf = driver.alloc(16, 1);
        for (int i = 0; i < 11; i++) { // wrap the ring indices past the queue size
            memory.writeU32(buf, i);
            q.add(List.of(new Buf(buf, 4, false), new Buf(buf + 8, 4, true)));
            driver.notify(0);
            assertEquals(1, q.pollUsed().size());
        }
        device.counter = 77;
        byte[] saved = transport.saveState();

        LoopbackDevice device2 = new LoopbackDevice();
        VirtioMmioTransport restored = new VirtioMmioTransport(device2, memory, () -> {});
        restored.restoreState(saved);
        assertEquals(transport.status(), restored.status());
        assertEquals(77, device2.counter);
        assertEquals(1, device2.activations, "DRIVER_OK state re-activates the device");
        assertArrayEquals(saved, restored.saveState());

        memory.writeU32(buf, 0x01020304);
        q.add(List.of(new Buf(buf, 4, false), new Buf(buf + 8, 4, true)));
        restored.write(QUEUE_NOTIFY, 4, 0);
        assertEquals(List.of(4), q.pollUsed().stream().map(Used::length).toList());
        assertEquals(0x04030201, memory.readU32(buf + 8));
        assertEquals(12, q.usedIdx());
    }

    @Test
    void restoreRefusesTruncatedGarbageAndInconsistentState() {
        driver.init(VirtioFeatures.VERSION_1, 1, 8);
        byte[] saved = transport.saveState();
        VirtioMmioTransport other = new VirtioMmioTransport(new LoopbackDevice(), memory, () -> {});
        for (int n = 0; n < saved.length; n++) {
            byte[] cut = java.util.Arrays.copyOf(saved, n);
            DeviceStateException e = assertThrows(DeviceStateException.class, () -> other.restoreState(cut), "prefix " + n);
            assertTrue(e.getMessage().startsWith("virtio-mmio state: "), e.getMessage());
        }
        assertEquals(0, other.status(), "failed restores change nothing");
        assertMessage(other, new byte[] {1, 2, 3, 4, 5, 6, 7, 8}, "bad magic");
        byte[] longer = java.util.Arrays.copyOf(saved, saved.length + 1);
        assertMessage(other, longer, "trailing");
        byte[] version = saved.clone();
        version[4] = 9;
        assertMessage(other, version, "unsupported format version 9");
        byte[] wrongDevice = saved.clone();
        wrongDevice[6] = 19;
        assertMessage(other, wrongDevice, "device id 19");
        MmioTransportState s = MmioTransportState.decode(saved);
        QueueState q = s.queues().getFirst();
        MmioTransportState outside = new MmioTransportState(s.deviceId(), s.status(), 0, 0, s.driverFeatures(), 0, 0, 0,
                List.of(new QueueState(16, 8, true, RAM, q.availRing(), q.usedRing(), 0, 0)), s.deviceState());
        assertMessage(other, outside.encode(), "queue 0: descriptor table");
        MmioTransportState features = new MmioTransportState(s.deviceId(), s.status(), 0, 0, 1L << 40, 0, 0, 0,
                s.queues(), s.deviceState());
        assertMessage(other, features, "were not offered");
        MmioTransportState badDevice = new MmioTransportState(s.deviceId(), s.status(), 0, 0, s.driverFeatures(), 0, 0, 0,
                s.queues(), new byte[] {1, 2});
        assertThrows(DeviceStateException.class, () -> other.restoreState(badDevice.encode()));
        assertEquals(0, other.status());
    }

    private static void assertMessage(VirtioMmioTransport t, MmioTransportState s, String part) {
        assertMessage(t, s.encode(), part);
    }

    private static void assertMessage(VirtioMmioTransport t, byte[] bytes, String part) {
        DeviceStateException e = assertThrows(DeviceStateException.class, () -> t.restoreState(bytes));
        assertTrue(e.getMessage().startsWith("virtio-mmio state: ") && e.getMessage().contains(part), e.getMessage());
    }

    @Test
    void queueConfigurationIsFrozenOnceReady() {
        GuestQueue q = driver.init(VirtioFeatures.VERSION_1, 1, 8).getFirst();
        driver.setReg(QUEUE_SEL, 0);
        driver.setReg(QUEUE_NUM, 2);
        driver.setReg(QUEUE_DESC_LOW, 0x7000);
        long buf = driver.alloc(4, 1);
        q.add(List.of(new Buf(buf, 4, true)));
        driver.notify(0);
        assertEquals(1, q.pollUsed().size(), "the queue kept its configuration");
        driver.notify(5); // no such queue: ignored
        transport.write(QUEUE_NOTIFY, 2, 0); // wrong width: ignored
        assertEquals(0, transport.status() & DeviceStatus.DEVICE_NEEDS_RESET);
    }
}
