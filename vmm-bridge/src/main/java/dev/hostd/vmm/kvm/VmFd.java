package dev.hostd.vmm.kvm;

import dev.hostd.vmm.VmmException;
import dev.hostd.vmm.internal.linux.Libc;
import dev.hostd.vmm.internal.linux.kvm_clock_data;
import dev.hostd.vmm.internal.linux.kvm_h;
import dev.hostd.vmm.internal.linux.kvm_ioeventfd;
import dev.hostd.vmm.internal.linux.kvm_irqchip;
import dev.hostd.vmm.internal.linux.kvm_irqfd;
import dev.hostd.vmm.internal.linux.kvm_pit_config;
import dev.hostd.vmm.internal.linux.kvm_pit_state2;
import dev.hostd.vmm.internal.linux.kvm_userspace_memory_region;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** A KVM VM file descriptor: memory slots, vCPU creation and VM-wide state. */
public final class VmFd extends FileDescriptor {
    private final Kvm kvm;

    VmFd(int fd, Kvm kvm) {
        super(fd);
        this.kvm = kvm;
    }

    public Kvm kvm() {
        return kvm;
    }

    /** Maps {@code host} (a mapping the caller owns) at {@code guestPhysical} in memory slot {@code slot}. */
    public void setUserMemoryRegion(int slot, long guestPhysical, MemorySegment host) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment region = arena.allocate(kvm_userspace_memory_region.LAYOUT);
            kvm_userspace_memory_region.slot(region, slot);
            kvm_userspace_memory_region.flags(region, 0);
            kvm_userspace_memory_region.guest_phys_addr(region, guestPhysical);
            kvm_userspace_memory_region.memory_size(region, host.byteSize());
            kvm_userspace_memory_region.userspace_addr(region, host.address());
            Libc.ioctl(fd(), kvm_h.KVM_SET_USER_MEMORY_REGION, region, "KVM_SET_USER_MEMORY_REGION");
        }
    }

    public VcpuFd createVcpu(int index) {
        int vcpuFd = Libc.ioctl(fd(), kvm_h.KVM_CREATE_VCPU, index, "KVM_CREATE_VCPU");
        return new VcpuFd(vcpuFd, index, kvm.vcpuMmapSize());
    }

    /** In-kernel PIC + IOAPIC (+ LAPICs), and the PIT with a dummy speaker port. */
    public void createIrqchipAndPit() {
        Libc.ioctl(fd(), kvm_h.KVM_CREATE_IRQCHIP, 0L, "KVM_CREATE_IRQCHIP");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment config = arena.allocate(kvm_pit_config.LAYOUT);
            kvm_pit_config.flags(config, kvm_h.KVM_PIT_SPEAKER_DUMMY);
            Libc.ioctl(fd(), kvm_h.KVM_CREATE_PIT2, config, "KVM_CREATE_PIT2");
        }
    }

    /**
     * KVM injects {@code gsi} (edge: raise then lower) whenever {@code event} is signalled, with no
     * vCPU exit or ioctl; needs the in-kernel irqchip. An eventfd serves one GSI at a time.
     */
    public void assignIrqfd(EventFd event, int gsi) {
        irqfd(event, gsi, 0, "KVM_IRQFD");
    }

    public void deassignIrqfd(EventFd event, int gsi) {
        irqfd(event, gsi, kvm_h.KVM_IRQFD_FLAG_DEASSIGN, "KVM_IRQFD (deassign)");
    }

    private void irqfd(EventFd event, int gsi, int flags, String operation) {
        if (gsi < 0) {
            throw new VmmException(VmmException.Kind.INVALID_INPUT, operation, "GSI " + gsi + " is negative");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment irqfd = arena.allocate(kvm_irqfd.LAYOUT);
            kvm_irqfd.fd(irqfd, event.fd());
            kvm_irqfd.gsi(irqfd, gsi);
            kvm_irqfd.flags(irqfd, flags);
            Libc.ioctl(fd(), kvm_h.KVM_IRQFD, irqfd, operation);
        }
    }

    /**
     * A guest write of {@code length} bytes (1, 2, 4 or 8) to guest-physical {@code address} signals
     * {@code event} inside KVM instead of exiting to the VMM, whatever the value written: the
     * queue-notify path of a device served by its own thread.
     */
    public void assignIoeventfd(EventFd event, long address, int length) {
        ioeventfd(event, address, length, 0, "KVM_IOEVENTFD");
    }

    public void deassignIoeventfd(EventFd event, long address, int length) {
        ioeventfd(event, address, length, kvm_h.KVM_IOEVENTFD_FLAG_DEASSIGN, "KVM_IOEVENTFD (deassign)");
    }

    private void ioeventfd(EventFd event, long address, int length, int flags, String operation) {
        if (length != 1 && length != 2 && length != 4 && length != 8) {
            throw new VmmException(VmmException.Kind.INVALID_INPUT, operation, "length " + length + " is not 1, 2, 4 or 8 bytes");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ioeventfd = arena.allocate(kvm_ioeventfd.LAYOUT);
            kvm_ioeventfd.addr(ioeventfd, address);
            kvm_ioeventfd.len(ioeventfd, length);
            kvm_ioeventfd.fd(ioeventfd, event.fd());
            kvm_ioeventfd.flags(ioeventfd, flags);
            Libc.ioctl(fd(), kvm_h.KVM_IOEVENTFD, ioeventfd, operation);
        }
    }

    public void setTssAddress(long address) {
        Libc.ioctl(fd(), kvm_h.KVM_SET_TSS_ADDR, address, "KVM_SET_TSS_ADDR");
    }

    public byte[] getClock() {
        return get(kvm_h.KVM_GET_CLOCK, kvm_clock_data.sizeof(), "KVM_GET_CLOCK");
    }

    /** Restores the guest clock; only {@code clock} (and no flags) is applied, as the kernel expects. */
    public void setClock(byte[] clock) {
        KvmStructs.requireSize(clock, kvm_clock_data.sizeof(), "KVM_SET_CLOCK");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment saved = arena.allocate(kvm_clock_data.LAYOUT);
            MemorySegment.copy(clock, 0, saved, ValueLayout.JAVA_BYTE, 0, clock.length);
            MemorySegment data = arena.allocate(kvm_clock_data.LAYOUT);
            kvm_clock_data.clock(data, kvm_clock_data.clock(saved));
            Libc.ioctl(fd(), kvm_h.KVM_SET_CLOCK, data, "KVM_SET_CLOCK");
        }
    }

    public byte[] getIrqchip(int chipId) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment chip = arena.allocate(kvm_irqchip.LAYOUT);
            kvm_irqchip.chip_id(chip, chipId);
            Libc.ioctl(fd(), kvm_h.KVM_GET_IRQCHIP, chip, "KVM_GET_IRQCHIP");
            return chip.toArray(ValueLayout.JAVA_BYTE);
        }
    }

    public void setIrqchip(byte[] chip) {
        set(kvm_h.KVM_SET_IRQCHIP, chip, kvm_irqchip.sizeof(), "KVM_SET_IRQCHIP");
    }

    public byte[] getPit2() {
        return get(kvm_h.KVM_GET_PIT2, kvm_pit_state2.sizeof(), "KVM_GET_PIT2");
    }

    public void setPit2(byte[] state) {
        set(kvm_h.KVM_SET_PIT2, state, kvm_pit_state2.sizeof(), "KVM_SET_PIT2");
    }

    private byte[] get(long request, long size, String operation) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(size, 8);
            Libc.ioctl(fd(), request, buffer, operation);
            return buffer.toArray(ValueLayout.JAVA_BYTE);
        }
    }

    private void set(long request, byte[] bytes, long size, String operation) {
        KvmStructs.requireSize(bytes, size, operation);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(size, 8);
            MemorySegment.copy(bytes, 0, buffer, ValueLayout.JAVA_BYTE, 0, bytes.length);
            Libc.ioctl(fd(), request, buffer, operation);
        }
    }
}
