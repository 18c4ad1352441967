package dev.hostd.vmm.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hostd.vmm.VmmException;
import dev.hostd.vmm.device.virtio.IrqfdLine;
import dev.hostd.vmm.testing.PicState;
import dev.hostd.vmm.testing.SharedKvm;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** KVM_IRQFD on the real /dev/kvm: a signalled eventfd becomes a pending interrupt in the in-kernel PIC. */
@Timeout(value = 60, unit = TimeUnit.SECONDS) // hang guard only
class IrqfdTest {
    static final Kvm kvm = SharedKvm.get();


    @Test
    void raisingTheLineMakesItsGsiPendingInThePic() throws InterruptedException {
        assertTrue(kvm.checkExtension(dev.hostd.vmm.internal.linux.kvm_h.KVM_CAP_IRQFD), "KVM_CAP_IRQFD");
        try (VmFd vm = kvm.createVm()) {
            vm.createIrqchipAndPit();
            try (IrqfdLine line = IrqfdLine.assign(vm, 5)) {
                assertEquals(false, PicState.pending(vm, 5), "nothing pending before the device raised its line");
                line.raise();
                // KVM injects from a work queue after the eventfd write: wait for it (hang guard above).
                while (!PicState.pending(vm, 5)) {
                    Thread.sleep(1);
                }
                assertEquals(false, PicState.pending(vm, 6), "only the line's own GSI");
            }
        }
    }

    @Test
    void anEventFdServesOneGsiAndDeassignRemovesIt() {
        try (VmFd vm = kvm.createVm(); EventFd event = EventFd.create()) {
            vm.createIrqchipAndPit();
            vm.assignIrqfd(event, 7);
            VmmException twice = assertThrows(VmmException.class, () -> vm.assignIrqfd(event, 7));
            assertTrue(twice.getMessage().contains("KVM_IRQFD") && twice.getMessage().contains("EBUSY"), twice.getMessage());
            vm.deassignIrqfd(event, 7);
            vm.assignIrqfd(event, 7); // EBUSY again had the deassign left it bound
            vm.deassignIrqfd(event, 7);
        }
    }

    @Test
    void badArgumentsAreRefusedBeforeTheIoctl() {
        try (VmFd vm = kvm.createVm(); EventFd event = EventFd.create()) {
            VmmException gsi = assertThrows(VmmException.class, () -> vm.assignIrqfd(event, -1));
            assertEquals(VmmException.Kind.INVALID_INPUT, gsi.kind());
            VmmException length = assertThrows(VmmException.class, () -> vm.assignIoeventfd(event, 0xD0000050L, 3));
            assertEquals(VmmException.Kind.INVALID_INPUT, length.kind());
            assertTrue(length.getMessage().contains("length 3"), length.getMessage());
        }
    }

    @Test
    void theEventFdCounterAddsUpAndTakingResetsIt() {
        try (EventFd event = EventFd.create()) {
            assertEquals(0, event.take(), "a fresh eventfd has nothing, and taking it does not block");
            event.signal();
            event.signal();
            assertEquals(2, event.take());
            assertEquals(0, event.take());
        }
    }
}
