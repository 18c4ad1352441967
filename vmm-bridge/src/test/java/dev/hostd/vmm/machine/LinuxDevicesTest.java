package dev.hostd.vmm.machine;

import static dev.hostd.vmm.device.virtio.FakeGuestDriver.DEVICE_ID;
import static dev.hostd.vmm.device.virtio.FakeGuestDriver.INTERRUPT_ACK;
import static dev.hostd.vmm.device.virtio.FakeGuestDriver.INTERRUPT_STATUS;
import static dev.hostd.vmm.device.virtio.FakeGuestDriver.MAGIC;
import static dev.hostd.vmm.device.virtio.FakeGuestDriver.VERSION;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hostd.vmm.VmmException;
import dev.hostd.vmm.acpi.MmioSlot;
import dev.hostd.vmm.device.MmioDevice;
import dev.hostd.vmm.device.virtio.VirtioMmioTransport;
import dev.hostd.vmm.device.vsock.FakeVsockGuest;
import dev.hostd.vmm.device.vsock.VsockConnection;
import dev.hostd.vmm.device.vsock.VsockStreamListener;
import dev.hostd.vmm.kvm.EventFd;
import dev.hostd.vmm.kvm.Kvm;
import dev.hostd.vmm.kvm.VmFd;
import dev.hostd.vmm.memory.GuestMemory;
import dev.hostd.vmm.testing.PicState;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A Linux guest's vsock on the real /dev/kvm, driven by a guest driver written in Java through the
 * VM's MMIO bus: what a host thread sends reaches the guest's rx ring through the VM's service
 * thread alone (nobody here calls service()), and the device's GSI is raised through its irqfd in
 * KVM's in-kernel irqchip.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS) // hang guard only
class LinuxDevicesTest {
    static final int PORT = 5000, GUEST_PORT = 40000;
    Kvm kvm;
    VmFd vm;
    Arena arena;
    GuestMemory memory;
    MmioBus bus;
    LinuxDevices devices;
    MmioSlot slot;

    @BeforeEach
    void attach() {
        kvm = Kvm.open();
        vm = kvm.createVm();
        vm.createIrqchipAndPit();
        arena = Arena.ofShared();
        memory = new GuestMemory(arena.allocate(32L << 20, 4096));
        bus = new MmioBus();
        devices = LinuxDevices.attach(vm, memory, bus, "test");
        slot = devices.slots().getFirst();
    }

    @AfterEach
    void close() {
        // in this order, each even if an earlier one failed or set-up stopped half-way
        try (Kvm k = kvm; VmFd v = vm; Arena a = arena; LinuxDevices d = devices) {
            // closed by try-with-resources, last opened first; nulls are skipped
        }
    }

    /** Java's virtio driver on the VM's RAM, reaching the device only through the MMIO bus at its slot. */
    FakeVsockGuest guest() {
        return FakeVsockGuest.over(devices.vsock(), registersAt(bus, slot.base()), memory);
    }

    @Test
    void hostBytesReachTheGuestByTheServiceThreadAndRaiseTheDeviceGsi() throws Exception {
        assertEquals(MmioSlot.standard(LinuxDevices.VSOCK_SLOT), slot, "the slot the DSDT describes");
        CompletableFuture<VsockConnection> accepted = new CompletableFuture<>();
        devices.vsock().listen(PORT, c -> {
            accepted.complete(c);
            return new VsockStreamListener() {
                @Override public void onData(byte[] bytes) {}
                @Override public void onClosed(String reason) {}
            };
        });
        FakeVsockGuest guest = guest();
        assertEquals(0x74726976, guest.driver.reg(MAGIC), "\"virt\" at the slot's base on the bus");
        assertEquals(2, guest.driver.reg(VERSION));
        assertEquals(19, guest.driver.reg(DEVICE_ID));
        assertEquals(-1L, bus.read(slot.base() + slot.size(), 4), "nothing past the window");

        // The driver starts polled (VRING_AVAIL_F_NO_INTERRUPT on its rings): the answer raises nothing.
        assertEquals(FakeVsockGuest.RESPONSE, guest.connect(GUEST_PORT, PORT));
        VsockConnection connection = accepted.get(30, TimeUnit.SECONDS);
        Thread.sleep(50); // KVM injects from a work queue: time for a wrongly raised edge to show
        assertFalse(PicState.pending(vm, slot.irq()), "a suppressed queue raises no interrupt");
        guest.driver.setReg(INTERRUPT_ACK, guest.driver.reg(INTERRUPT_STATUS));
        guest.rx.setAvailFlags(0); // from now on it takes interrupts on rx, as Linux's driver does

        connection.send("hello from the host".getBytes(StandardCharsets.US_ASCII));
        awaitPending(slot.irq()); // delivered on the service thread, then the irqfd write reaches KVM
        assertEquals(1, guest.driver.reg(INTERRUPT_STATUS) & 1, "used-buffer bit set for the handler");
        guest.poll();
        assertArrayEquals("hello from the host".getBytes(StandardCharsets.US_ASCII), guest.read(GUEST_PORT));
        assertFalse(PicState.pending(vm, slot.irq() + 1), "only the device's own GSI");
    }

    @Test
    void aTransportResetReachesTheGuestsEventQueueWithAnInterrupt() throws Exception {
        FakeVsockGuest guest = guest();
        guest.event.setAvailFlags(0); // takes interrupts on the event queue, as Linux's driver does
        guest.postEventBuffer();
        Thread.sleep(50); // as above: posting a buffer raises nothing
        assertFalse(PicState.pending(vm, slot.irq()));
        devices.transportReset();
        awaitPending(slot.irq());
        assertEquals(1, guest.driver.reg(INTERRUPT_STATUS) & 1, "InterruptStatus has the used-buffer bit");
        assertEquals(List.of(0), guest.pollEvents(), "VIRTIO_VSOCK_EVENT_TRANSPORT_RESET");
    }

    @Test
    void theQueueNotifyRegisterIsAnIoeventfdInKvm() {
        long notify = slot.base() + VirtioMmioTransport.QUEUE_NOTIFY_OFFSET;
        try (EventFd other = EventFd.create()) {
            VmmException taken = assertThrows(VmmException.class, () -> vm.assignIoeventfd(other, notify, 4));
            assertTrue(taken.getMessage().contains("EEXIST"), "KVM already has one at the notify address: " + taken.getMessage());
            vm.assignIoeventfd(other, notify + 4, 4); // a free address next to it is accepted: the refusal was about ours
            vm.deassignIoeventfd(other, notify + 4, 4);
        }
        devices.close();
        try (EventFd other = EventFd.create()) {
            vm.assignIoeventfd(other, notify, 4); // close gave the address back
            vm.deassignIoeventfd(other, notify, 4);
        }
    }

    @Test
    void closeReturnsWithTheAgentClosedAndANewSetCanTakeItsPlace() {
        devices.close(); // joins the service thread: a hang here is the hang guard's
        assertTrue(devices.agent().expectHello().isCompletedExceptionally(), "the agent endpoint is closed");
        devices = LinuxDevices.attach(vm, memory, new MmioBus(), "second");
    }

    /** Returns once the GSI is pending in the PIC: KVM injects from a work queue after the eventfd write (hang guard above). */
    private void awaitPending(int irq) throws InterruptedException {
        while (!PicState.pending(vm, irq)) {
            Thread.sleep(1);
        }
    }

    /** The device's registers as a guest's accesses reach them: through the bus at the slot's base. */
    static MmioDevice registersAt(MmioBus bus, long base) {
        return new MmioDevice() {
            @Override
            public long read(long offset, int size) {
                return bus.read(base + offset, size);
            }

            @Override
            public void write(long offset, int size, long value) {
                bus.write(base + offset, size, value);
            }
        };
    }
}
