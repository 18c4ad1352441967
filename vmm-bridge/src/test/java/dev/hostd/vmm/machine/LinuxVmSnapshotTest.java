package dev.hostd.vmm.machine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.hostd.vmm.VmmException;
import dev.hostd.vmm.acpi.MmioSlot;
import dev.hostd.vmm.device.MmioDevice;
import dev.hostd.vmm.device.vsock.FakeVsockGuest;
import dev.hostd.vmm.device.vsock.VsockConnection;
import dev.hostd.vmm.device.vsock.VsockStreamListener;
import dev.hostd.vmm.identity.Identity;
import dev.hostd.vmm.identity.IdentityPage;
import dev.hostd.vmm.kvm.Kvm;
import dev.hostd.vmm.testing.SharedKvm;
import dev.hostd.vmm.memory.GuestMemory;
import dev.hostd.vmm.snapshot.MachineState;
import dev.hostd.vmm.snapshot.MicrovmState;
import dev.hostd.vmm.snapshot.SnapshotFile;
import dev.hostd.vmm.testing.PicState;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Snapshot and restore of a {@link LinuxVm} on the real /dev/kvm with a tiny 2-vCPU PVH guest (a
 * few instructions at CPL 0, so it runs even where they are emulated): the BSP counts in RAM,
 * prints bytes the test leaves for it, and on request starts the AP by INIT-SIPI, which then
 * counts too. A clone continues both counters from the snapshot's values while the original keeps
 * its own; an AP still waiting for its SIPI at the snapshot waits in the clone until the clone's
 * BSP starts it. Bad snapshots are refused before anything is made. Debian's kernel is
 * LinuxBasepointIT.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS) // a hang guard
class LinuxVmSnapshotTest {
    static final long BSP_COUNT = 0x9100, AP_COUNT = 0x9104, BOOTS = 0x9108, PRINT = 0x9200, START_AP = 0x9204;
    /** What the original writes to its BSP counter after the snapshot; a clone sharing its RAM would see it. */
    static final int SENTINEL = 0x4000_0000;
    /** How long the test gives a wrongly started AP to show up: a window, not a time assertion. */
    static final long QUIET_MILLIS = 300;
    static final int KVM_MP_STATE_RUNNABLE = 0, KVM_MP_STATE_UNINITIALIZED = 1;
    static final int HOST_PORT = 5000, GUEST_PORT = 40000;

    static final String GUEST = """
                mov $0x10000, %esp
                incl 0x9108                 /* boots: a clone that re-entered here would count 2 */
                mov $ap_start, %esi
                mov $0x8000, %edi
                mov $(ap_end - ap_start), %ecx
                cld
                rep movsb
                orl $0x100, 0xFEE000F0      /* SVR: APIC software enable */
                mov $0x3f8, %dx
                mov $'B', %al
                out %al, %dx
            loop:
                incl 0x9100
                cmpl $1, 0x9204             /* the test asks for the AP */
                jne 1f
                movl $2, 0x9204
                movl $0x01000000, 0xFEE00310    /* ICR high: destination APIC ID 1 */
                movl $0x00004500, 0xFEE00300    /* INIT */
                movl $0x01000000, 0xFEE00310
                movl $0x00004608, 0xFEE00300    /* start-up IPI, vector 0x08: CS base 0x8000 */
            1:  movzbl 0x9200, %eax             /* a byte the test wants printed */
                test %eax, %eax
                jz loop
                mov $0x3f8, %dx
                out %al, %dx
                movb $0, 0x9200
                jmp loop
            """ + TinyPvhGuests.AP_TRAMPOLINE_START + """
            2:  incl 0x9104
                jmp 2b
            """ + TinyPvhGuests.AP_TRAMPOLINE_END;

    static final Kvm kvm = SharedKvm.get();
    static byte[] elf;

    @TempDir
    Path dir;

    @BeforeAll
    static void setUp(@TempDir Path build) throws Exception {
        elf = TinyPvhGuests.build(build, "counter", GUEST);
    }

    @Test
    void aCloneContinuesBothCountersFromTheSnapshotWhileTheOriginalKeepsItsOwn() throws Exception {
        long fdsBefore = openFds();
        Path snap = Files.createDirectory(dir.resolve("snap"));
        Identity id = new Identity(Identity.parseMac("02:00:00:00:00:07"), Identity.parseIpv4("198.18.0.7"), 15,
                Identity.parseIpv4("198.18.0.1"), "clone-host", "clone-7", "tenant-a");
        try (LinuxVm vm = LinuxVm.bootVmlinux("snap-orig", kvm, elf, "", 64, 2)) {
            GuestMemory m = vm.memory();
            await(() -> vm.console().text().contains("B"), vm, "the BSP printed B");
            m.writeU32(START_AP, 1);
            await(() -> m.readU32(AP_COUNT) > 0, vm, "the AP counts");
            // A guest vsock driver (in Java) with a connection and an event buffer posted, as Linux's would have.
            FakeVsockGuest guest = FakeVsockGuest.over(vm.devices().vsock(), registers(vm), m);
            listen(vm, new CompletableFuture<>());
            assertEquals(FakeVsockGuest.RESPONSE, guest.connect(GUEST_PORT, HOST_PORT));
            guest.event.setAvailFlags(0);
            guest.postEventBuffer();

            MicrovmState state = vm.snapshot(snap);
            assertTrue(vm.paused());
            int bsp0 = m.readU32(BSP_COUNT), ap0 = m.readU32(AP_COUNT);
            Thread.sleep(QUIET_MILLIS);
            assertEquals(bsp0, m.readU32(BSP_COUNT), "the BSP is paused");
            assertEquals(ap0, m.readU32(AP_COUNT), "the AP is paused");
            assertEquals(new MachineState(2, 64L << 20, true, "linux"), state.machine());
            assertEquals(KVM_MP_STATE_RUNNABLE, state.vcpus().get(1).mpState(), "the AP was running");
            assertEquals(bsp0, fileU32(snap.resolve("memory"), BSP_COUNT), "the memory file holds RAM at the pause");
            assertTrue(Files.size(snap.resolve("memory")) == 64L << 20, "the file has the RAM's size");

            m.writeU32(BSP_COUNT, SENTINEL); // the original goes its own way from here
            vm.resume();
            try (LinuxVm clone = LinuxVm.restore("snap-clone", kvm, snap, id)) {
                GuestMemory c = clone.memory();
                await(() -> Integer.compareUnsigned(c.readU32(BSP_COUNT), bsp0) > 0 && Integer.compareUnsigned(c.readU32(AP_COUNT), ap0) > 0,
                        clone, "both of the clone's counters pass the snapshot's values");
                assertTrue(Integer.compareUnsigned(c.readU32(BSP_COUNT), SENTINEL) < 0, "the clone never saw the original's write");
                await(() -> m.readU32(BSP_COUNT) > SENTINEL, vm, "the original counts on from its own value");
                assertEquals(1, c.readU32(BOOTS), "the clone did not start over at the entry");
                assertEquals(bsp0, fileU32(snap.resolve("memory"), BSP_COUNT), "the clone's writes stay private (copy-on-write)");

                long page = clone.layout().identityPage();
                assertEquals(vm.layout().identityPage(), page);
                assertEquals(vm.layout().cmdline(), clone.layout().cmdline());
                assertEquals(1, IdentityPage.generation(c, page), "the clone's identity is the page's next generation");
                byte[] sandbox = new byte["clone-7".length()];
                c.read(page + 0x68, sandbox, 0, sandbox.length);
                assertEquals("clone-7", new String(sandbox));
                assertEquals(0, IdentityPage.generation(m, page), "the original's page is untouched");

                c.writeU8(PRINT, (byte) 'C');
                await(() -> clone.console().text().contains("C"), clone, "the clone's BSP printed C");
                assertEquals("C", clone.console().text(), "the clone's console starts empty and gets what the clone prints");
                assertEquals("B", vm.console().text(), "the original's console has only its own");

                // The transport reset reached the event buffer posted before the snapshot, with the GSI raised.
                MmioSlot slot = MmioSlot.standard(LinuxDevices.VSOCK_SLOT);
                await(() -> PicState.pending(clone.vmFdForTest(), slot.irq()), clone, "the vsock's GSI is pending in the clone");
                assertEquals(1, c.readU16(guest.event.used + 2), "one used event buffer");
                int head = c.readU32(guest.event.used + 4);
                assertEquals(0, c.readU32(c.readU64(guest.event.desc + 16L * head)), "VIRTIO_VSOCK_EVENT_TRANSPORT_RESET");
                assertFalse(PicState.pending(vm.vmFdForTest(), slot.irq()), "not in the original");
                assertEquals(1, vm.devices().vsock().connectionCount(), "the original keeps its connection");
                assertEquals(0, clone.devices().vsock().connectionCount(), "the clone forgot it");

                // The clone's vsock works: a driver starting over connects to a listener of the clone's.
                CompletableFuture<VsockConnection> accepted = new CompletableFuture<>();
                listen(clone, accepted);
                FakeVsockGuest cloneGuest = FakeVsockGuest.over(clone.devices().vsock(), registers(clone), c);
                assertEquals(FakeVsockGuest.RESPONSE, cloneGuest.connect(GUEST_PORT, HOST_PORT));
                accepted.get(30, TimeUnit.SECONDS).send("to the clone".getBytes());
                await(() -> { cloneGuest.poll(); return cloneGuest.received.stream().anyMatch(p -> p.op() == FakeVsockGuest.RW); },
                        clone, "the clone's guest got the host's bytes");
                assertArrayEquals("to the clone".getBytes(), cloneGuest.read(GUEST_PORT));
                assertFalse(clone.stopped().isDone(), "no vCPU of the clone failed");
                assertFalse(vm.stopped().isDone(), "no vCPU of the original failed");
                clone.close();
                assertEquals(0, clone.vcpuThreadIds().length, "the clone's vCPU threads are gone");
            }
        }
        assertEquals(fdsBefore, openFds(), "every fd of both VMs is closed");
        assertFalse(Files.readString(Path.of("/proc/self/maps")).contains(snap.resolve("memory").toString()),
                "no mapping of the snapshot's memory file is left");
    }

    @Test
    void anApWaitingForItsSipiAtTheSnapshotWaitsInTheCloneUntilTheClonesBspStartsIt() throws Exception {
        Path snap = Files.createDirectory(dir.resolve("snap"));
        MicrovmState state;
        try (LinuxVm vm = LinuxVm.bootVmlinux("sipi-orig", kvm, elf, "", 64, 2)) {
            await(() -> vm.console().text().contains("B"), vm, "the BSP printed B");
            state = vm.snapshot(snap);
        }
        assertEquals(KVM_MP_STATE_UNINITIALIZED, state.vcpus().get(1).mpState(), "the AP was waiting for INIT and SIPI");
        Path again = Files.createDirectory(dir.resolve("again"));
        try (LinuxSnapshot snapshot = LinuxSnapshot.open(snap);
             LinuxVm clone = LinuxVm.restore("sipi-clone", kvm, snapshot, null);
             LinuxVm sibling = LinuxVm.restorePaused("sipi-sibling", kvm, snapshot, null)) {
            GuestMemory c = clone.memory();
            int bsp0 = c.readU32(BSP_COUNT);
            await(() -> c.readU32(BSP_COUNT) != bsp0, clone, "the clone's BSP counts");
            Thread.sleep(QUIET_MILLIS);
            assertEquals(0, c.readU32(AP_COUNT), "the AP still waits");
            assertEquals(0, IdentityPage.generation(c, clone.layout().identityPage()), "no identity given: the page is as saved");
            c.writeU32(START_AP, 1);
            await(() -> c.readU32(AP_COUNT) > 0, clone, "the clone's AP runs after the clone's INIT-SIPI");

            assertTrue(sibling.paused());
            int saved = fileU32(snap.resolve("memory"), BSP_COUNT);
            Thread.sleep(QUIET_MILLIS);
            assertEquals(saved, sibling.memory().readU32(BSP_COUNT), "a paused restore has not run: RAM as saved");
            sibling.resume();
            await(() -> sibling.memory().readU32(BSP_COUNT) != saved, sibling, "a second clone of the same opened snapshot runs");
            assertEquals(0, sibling.memory().readU32(AP_COUNT), "its AP waits: the first clone's SIPI was the first clone's");

            // A clone is snapshotted like any Linux VM (its CPUID came from the snapshot, its RAM is a
            // copy-on-write view of the first snapshot's file: what it wrote must be in the new one), and its clone runs on.
            clone.snapshot(again);
            int cloneAp = c.readU32(AP_COUNT), cloneBsp = c.readU32(BSP_COUNT); // paused: still
            assertEquals(cloneBsp, fileU32(again.resolve("memory"), BSP_COUNT), "the clone's own pages, not its parent's");
            try (LinuxSnapshot second = LinuxSnapshot.open(again);
                 LinuxVm grandchild = LinuxVm.restorePaused("sipi-grandchild", kvm, second, null)) {
                assertEquals(cloneBsp, grandchild.memory().readU32(BSP_COUNT), "the grandchild starts from the clone's RAM");
                assertEquals(cloneAp, grandchild.memory().readU32(AP_COUNT));
                grandchild.resume();
                await(() -> Integer.compareUnsigned(grandchild.memory().readU32(AP_COUNT), cloneAp) > 0, grandchild,
                        "the grandchild's AP counts on from the clone's value");
            }
        }
    }

    @Test
    void snapshotsOfOtherGuestsAndDamagedFilesAreRefusedLeavingNothingOpen() throws Exception {
        Path snap = Files.createDirectory(dir.resolve("snap"));
        try (LinuxVm vm = LinuxVm.bootVmlinux("bad-orig", kvm, elf, "", 64, 1)) {
            await(() -> vm.console().text().contains("B"), vm, "the BSP printed B");
            vm.snapshot(snap);
            VmmException again = assertThrows(VmmException.class, () -> vm.snapshot(snap));
            assertTrue(again.getMessage().contains("holds a snapshot already"), again.getMessage());
        }
        MicrovmState linux = SnapshotFile.read(snap.resolve("state"));
        long fds = openFds();

        // The test guest's kind in a Linux snapshot's place, and a Linux snapshot given to MicroVm.
        Path other = copy(snap, "other");
        MicrovmState userElf = new MicrovmState(new MachineState(1, linux.machine().memoryBytes(), true, MachineConfig.USER_ELF),
                linux.memory(), linux.vm(), linux.vcpus(), linux.devices(), linux.metadata());
        Files.delete(other.resolve("state"));
        SnapshotFile.write(other.resolve("state"), userElf);
        assertRefused(other, "a 'user-elf' guest, not of a Linux guest ('linux')");
        VmmException toMicroVm = assertThrows(VmmException.class, () -> MicroVm.restore("m", VmShell.create(kvm, true),
                RestoreImage.prepare(linux), 4096));
        assertEquals(VmmException.Kind.INVALID_INPUT, toMicroVm.kind());
        assertTrue(toMicroVm.getMessage().contains("unknown guest kind 'linux'"), toMicroVm.getMessage());

        Path otherDevices = copy(snap, "other-devices");
        java.util.Map<String, String> metadata = new java.util.LinkedHashMap<>(linux.metadata());
        metadata.put("linux.mmio-devices", "0xd0000000/0x1000/5,0xd0001000/0x1000/6");
        Files.delete(otherDevices.resolve("state"));
        SnapshotFile.write(otherDevices.resolve("state"), new MicrovmState(linux.machine(), linux.memory(), linux.vm(), linux.vcpus(),
                linux.devices(), metadata));
        assertRefused(otherDevices, "was told of virtio-mmio devices 0xd0000000/0x1000/5,0xd0001000/0x1000/6");

        Path truncatedState = copy(snap, "truncated-state");
        truncate(truncatedState.resolve("state"), Files.size(truncatedState.resolve("state")) - 10);
        assertRefused(truncatedState, "truncated-state");
        Path flipped = copy(snap, "flipped");
        flip(flipped.resolve("state"), Files.size(flipped.resolve("state")) / 2);
        assertRefused(flipped, "flipped");
        Path shortMemory = copy(snap, "short-memory");
        truncate(shortMemory.resolve("memory"), 1 << 20);
        assertRefused(shortMemory, "is 1048576 bytes, the state says 67108864");
        Path changedMemory = copy(snap, "changed-memory");
        flip(changedMemory.resolve("memory"), BSP_COUNT);
        assertRefused(changedMemory, "CRC32C");
        Path noState = copy(snap, "no-state");
        Files.delete(noState.resolve("state"));
        assertRefused(noState, "there is no state file");
        assertEquals(fds, openFds(), "the refusals left no fd open");
        assertEquals(0, Files.readString(Path.of("/proc/self/maps")).lines().filter(l -> l.contains(dir.toString())).count(),
                "and no mapping");

        try (LinuxVm clone = LinuxVm.restore("good", kvm, snap, null)) {
            int start = clone.memory().readU32(BSP_COUNT);
            await(() -> clone.memory().readU32(BSP_COUNT) != start, clone, "the good snapshot still restores and runs");
        }
    }

    private static void assertRefused(Path snapshot, String expected) {
        VmmException e = assertThrows(VmmException.class, () -> LinuxVm.restore("refused", kvm, snapshot, null));
        assertEquals(VmmException.Kind.INVALID_INPUT, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains(expected), "message names the problem: " + e.getMessage());
    }

    private Path copy(Path from, String name) throws IOException {
        Path to = Files.createDirectory(dir.resolve(name));
        try (Stream<Path> files = Files.list(from)) {
            for (Path f : files.toList()) {
                Files.copy(f, to.resolve(f.getFileName()));
            }
        }
        return to;
    }

    private static void truncate(Path file, long size) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(size);
        }
    }

    private static void flip(Path file, long at) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.seek(at);
            int b = f.read();
            f.seek(at);
            f.write(b ^ 0x5A);
        }
    }

    private static int fileU32(Path file, long at) throws IOException {
        try (FileChannel ch = FileChannel.open(file)) {
            ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(b, at);
            return b.getInt(0);
        }
    }

    private static long openFds() throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        }
    }

    private static void listen(LinuxVm vm, CompletableFuture<VsockConnection> accepted) {
        vm.devices().vsock().listen(HOST_PORT, conn -> {
            accepted.complete(conn);
            return new VsockStreamListener() {
                @Override public void onData(byte[] bytes) {}
                @Override public void onClosed(String reason) {}
            };
        });
    }

    private static MmioDevice registers(LinuxVm vm) {
        long base = MmioSlot.standard(LinuxDevices.VSOCK_SLOT).base();
        return new MmioDevice() {
            @Override
            public long read(long offset, int size) {
                return vm.mmio().read(base + offset, size);
            }

            @Override
            public void write(long offset, int size, long value) {
                vm.mmio().write(base + offset, size, value);
            }
        };
    }

    private static void await(BooleanSupplier condition, LinuxVm vm, String what) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60); // hang guard
        while (!condition.getAsBoolean()) {
            if (vm.stopped().isDone()) {
                fail("VM " + vm.name() + " stopped before " + what + ": " + vm.stopped().handle((r, e) -> e != null ? e : r).get()
                        + "; console: " + vm.console().text());
            }
            if (System.nanoTime() > deadline) {
                fail("hang guard: not " + what + "; console: " + vm.console().text());
            }
            Thread.sleep(5);
        }
    }
}
