package dev.hostd.vmm.machine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.hostd.vmm.VmmException;
import dev.hostd.vmm.acpi.MmioSlot;
import dev.hostd.vmm.device.net.NetAttachment;
import dev.hostd.vmm.device.net.Tap;
import dev.hostd.vmm.device.net.VirtioNet;
import dev.hostd.vmm.device.virtio.FakeGuestDriver;
import dev.hostd.vmm.device.virtio.GuestQueue;
import dev.hostd.vmm.device.virtio.GuestQueue.Buf;
import dev.hostd.vmm.device.virtio.GuestQueue.Used;
import dev.hostd.vmm.device.virtio.VirtioFeatures;
import dev.hostd.vmm.kvm.Kvm;
import dev.hostd.vmm.kvm.VmFd;
import dev.hostd.vmm.memory.GuestMemory;
import dev.hostd.vmm.testing.BridgedNetns;
import dev.hostd.vmm.testing.PicState;
import dev.hostd.vmm.testing.TestNetns;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Linux guest's virtio-net in slot 1 on a real TAP: in a namespace made for the test, the
 * device's TAP {@code dev0} and a TAP the test holds ({@code peer0}) are ports of one bridge. A
 * frame sent to the peer reaches the guest's rx ring through the VM's service thread with the
 * device's GSI pending in KVM's in-kernel irqchip; a frame the guest puts on tx reaches the peer.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS) // hang guard only
class LinuxNetDevicesTest {
    private static final int RX_BUFFERS = 8;
    static final byte[] MAC = {0x02, 0x11, 0x22, 0x33, 0x44, 0x66};
    static BridgedNetns net;
    static TestNetns ns;
    static Tap peer;

    @BeforeAll
    static void namespace() {
        String why = TestNetns.unavailableBecause();
        assumeTrue(why == null, () -> "skipped: " + why);
        net = BridgedNetns.create("hostd-lnet");
        ns = net.ns;
        peer = net.peer;
    }

    @AfterAll
    static void cleanUp() {
        if (net != null) {
            net.close();
        }
    }

    @Test
    void framesCrossBetweenTheTapAndTheGuestWithTheDevicesGsiRaised() throws Exception {
        try (Kvm kvm = Kvm.open(); VmFd vm = kvm.createVm(); Arena arena = Arena.ofShared()) {
            vm.createIrqchipAndPit();
            GuestMemory memory = new GuestMemory(arena.allocate(8L << 20, 4096));
            MmioBus bus = new MmioBus();
            Tap tap = net.tapOnBridge("dev0");
            try (LinuxDevices devices = LinuxDevices.attach(vm, memory, bus, "net", new NetAttachment(tap, MAC))) {
                assertEquals(List.of(MmioSlot.standard(0), MmioSlot.standard(1)), devices.slots(), "vsock and net, for the DSDT");
                MmioSlot slot = devices.slots().get(LinuxDevices.NET_SLOT);
                FakeGuestDriver driver = new FakeGuestDriver(LinuxDevicesTest.registersAt(bus, slot.base()), memory, 0x10000);
                assertEquals(VirtioNet.DEVICE_ID, driver.reg(FakeGuestDriver.DEVICE_ID));
                List<GuestQueue> queues = driver.init(VirtioFeatures.VERSION_1 | VirtioNet.F_MAC, 2, 16);
                GuestQueue rx = queues.get(0), tx = queues.get(1);
                rx.setAvailFlags(0); // takes interrupts on rx, as Linux's driver does
                // Several buffers: the kernel's own chatter on the bridge (IPv6 solicitations) may land first.
                Map<Integer, Long> buffers = new HashMap<>();
                for (int i = 0; i < RX_BUFFERS; i++) {
                    long buffer = driver.alloc(2048, 8);
                    buffers.put(rx.add(List.of(new Buf(buffer, 2048, true))), buffer);
                }
                driver.notify(0);
                drainPeer();

                byte[] in = frame(90, 1);
                peer.writeFrame(in);
                while (!PicState.pending(vm, slot.irq())) { // the TAP's event loop, the service thread, the irqfd (hang guard above)
                    Thread.sleep(1);
                }
                Used ours = awaitOurs(rx, memory, buffers);
                assertEquals(Tap.VNET_HEADER_BYTES + in.length, ours.length());
                byte[] got = new byte[in.length];
                memory.read(buffers.get(ours.head()) + Tap.VNET_HEADER_BYTES, got, 0, got.length);
                assertArrayEquals(in, got, "the frame, after virtio_net_hdr_v1");
                assertFalse(PicState.pending(vm, slot.irq() - 1), "not the vsock's GSI");

                byte[] out = frame(70, 2);
                byte[] withHeader = new byte[Tap.VNET_HEADER_BYTES + out.length];
                System.arraycopy(out, 0, withHeader, Tap.VNET_HEADER_BYTES, out.length);
                long txBuffer = driver.alloc(withHeader.length, 8);
                memory.write(txBuffer, withHeader, 0, withHeader.length);
                tx.add(List.of(new Buf(txBuffer, withHeader.length, false)));
                driver.notify(1);
                assertArrayEquals(out, peerFrame(), "the guest's frame on the bridge");
            }
            assertGone("dev0", "closing the devices closed the TAP, which removed it");
        }
    }

    @Test
    void aLinuxVmListsItsNicInTheDsdtAndABootThatFailsStillClosesTheTap() throws Exception {
        try (Kvm kvm = Kvm.open()) {
            byte[] elf = TinyPvhGuests.build(dir, "halt", TinyPvhGuests.HALT);
            LinuxBootConfig config = LinuxBootConfig.of("", 64, 1).withNetwork(new NetAttachment(Tap.openIn(ns.path, "dev1", true), null));
            try (LinuxVm vm = LinuxVm.bootVmlinux("nic", kvm, elf, config)) {
                String dsdt = new String(vm.layout().acpi().table("DSDT").bytes(), StandardCharsets.ISO_8859_1);
                assertTrue(dsdt.contains("VR00") && dsdt.contains("VR01"), "vsock and NIC in the DSDT");
                assertArrayEquals(LinuxDevices.DEFAULT_MAC, vm.devices().net().mac(), "no identity, no MAC given: the default");
                VmmException refused = assertThrows(VmmException.class, () -> vm.snapshot(dir.resolve("snap")));
                assertTrue(refused.getMessage().contains("network device"), refused.getMessage());
            }
            assertGone("dev1", "the VM closed its TAP");

            LinuxBootConfig tooSmall = LinuxBootConfig.of("", 1, 1).withNetwork(new NetAttachment(Tap.openIn(ns.path, "dev2", true), MAC));
            assertThrows(VmmException.class, () -> LinuxVm.bootVmlinux("bad", kvm, elf, tooSmall));
            assertGone("dev2", "a refused boot closed the TAP it was handed");
        }
    }

    @TempDir
    Path dir;

    private static void assertGone(String tap, String why) {
        IllegalStateException gone = assertThrows(IllegalStateException.class,
                () -> ns.exec("ip", "link", "show", tap));
        assertTrue(gone.getMessage().contains("does not exist"), why + ": " + gone.getMessage());
    }

    /** A broadcast frame (so the bridge floods it) from the device's MAC, with {@code tag} in its payload. */
    private static byte[] frame(int length, int tag) {
        byte[] f = new byte[length];
        Arrays.fill(f, 0, 6, (byte) 0xff);
        System.arraycopy(MAC, 0, f, 6, 6);
        f[12] = (byte) 0x88;
        f[13] = (byte) 0xb5; // local experimental ethertype
        Arrays.fill(f, 14, length, (byte) tag);
        return f;
    }

    private static void drainPeer() {
        byte[] b = new byte[2048];
        while (peer.readFrame(b) >= 0) {
            // frames the bridge flooded before the test's own
        }
    }

    /** The used rx buffer holding a frame with our experimental ethertype; others are the kernel's chatter. */
    private static Used awaitOurs(GuestQueue rx, GuestMemory memory, Map<Integer, Long> buffers) throws InterruptedException {
        byte[] type = new byte[2];
        while (true) {
            for (Used u : rx.pollUsed()) {
                memory.read(buffers.get(u.head()) + Tap.VNET_HEADER_BYTES + 12, type, 0, 2);
                if ((type[0] & 0xff) == 0x88 && (type[1] & 0xff) == 0xb5) {
                    return u;
                }
            }
            Thread.sleep(1); // hang guard above
        }
    }

    /** The next frame on the peer with our experimental ethertype (others: the kernel's own chatter). */
    private static byte[] peerFrame() throws InterruptedException {
        byte[] b = new byte[2048];
        while (true) {
            int n = peer.readFrame(b);
            if (n < 0) {
                Thread.sleep(1); // hang guard above
            } else if (n >= 14 && (b[12] & 0xff) == 0x88 && (b[13] & 0xff) == 0xb5) {
                return Arrays.copyOf(b, n);
            }
        }
    }
}
