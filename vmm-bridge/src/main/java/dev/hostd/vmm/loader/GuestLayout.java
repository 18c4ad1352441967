package dev.hostd.vmm.loader;

/** Fixed guest-physical addresses of docs/guest-abi.md, in one place. */
public final class GuestLayout {
    public static final long GDT = 0x0500;
    public static final long PML4 = 0x1000;
    public static final long PDPT = 0x2000;
    public static final long PD_LOW = 0x3000;
    public static final long BOOT_INFO = 0x4000;
    public static final long IDENTITY_PAGE = 0x5000;
    public static final long PD_MMIO = 0x6000;
    /** Lowest address an ELF segment may use. */
    public static final long IMAGE_MIN = 0x100000;
    public static final long MMIO_BASE = 0xD000_0000L;
    public static final long MMIO_DEVICE_SIZE = 0x1000;
    public static final int MAX_VIRTIO_DEVICES = 8;
    public static final long PAGE_2M = 2L << 20;
    /** One page directory maps the RAM of a user-mode guest. */
    public static final long MAX_USER_MODE_RAM = 1L << 30;

    private GuestLayout() {}

    public static long mmioBase(int slot) {
        return MMIO_BASE + slot * MMIO_DEVICE_SIZE;
    }
}
