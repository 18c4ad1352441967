#include "virtio_mmio.h"

#include "console.h"
#include "io.h"

static uint32_t rd(const struct virtio_dev *d, uint32_t off) { return mmio_read32(d->base + off); }
static void wr(const struct virtio_dev *d, uint32_t off, uint32_t v) { mmio_write32(d->base + off, v); }

int virtio_mmio_find(const struct boot_info *bi, uint32_t device_id, struct virtio_dev *dev) {
    for (uint32_t i = 0; i < bi->device_count && i < BOOT_INFO_MAX_DEVICES; i++) {
        const struct boot_device *bd = &bi->devices[i];
        if (bd->virtio_device_id != device_id)
            continue;
        if (bd->mmio_base < MMIO_WINDOW_BASE || bd->mmio_size < 0x200 || (bd->mmio_base & 0xfff))
            panic(PANIC_BAD_BOOT_INFO, "virtio device %u: bad mmio window 0x%lx size 0x%x", i,
                  (unsigned long)bd->mmio_base, bd->mmio_size);
        dev->base = bd->mmio_base;
        dev->device_id = device_id;
        dev->index = i;
        return 1;
    }
    return 0;
}

static void fail(const struct virtio_dev *d, uint32_t code, const char *what) {
    wr(d, VIRTIO_MMIO_STATUS, rd(d, VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_FAILED);
    panic(code, "virtio device %u (id %u) at 0x%lx: %s", d->index, d->device_id,
          (unsigned long)d->base, what);
}

void virtio_mmio_begin(const struct virtio_dev *d) {
    if (rd(d, VIRTIO_MMIO_MAGIC_VALUE) != VIRTIO_MMIO_MAGIC)
        panic(PANIC_VIRTIO_INIT, "virtio device %u at 0x%lx: bad magic", d->index, (unsigned long)d->base);
    if (rd(d, VIRTIO_MMIO_VERSION) != 2)
        panic(PANIC_VIRTIO_INIT, "virtio device %u: not a version 2 (modern) virtio-mmio device", d->index);
    if (rd(d, VIRTIO_MMIO_DEVICE_ID) != d->device_id)
        panic(PANIC_VIRTIO_INIT, "virtio device %u: device id differs from boot-info", d->index);

    wr(d, VIRTIO_MMIO_STATUS, 0);
    if (rd(d, VIRTIO_MMIO_STATUS) != 0)
        fail(d, PANIC_VIRTIO_INIT, "reset did not complete");
    wr(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    wr(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);

    wr(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    uint32_t high = rd(d, VIRTIO_MMIO_DEVICE_FEATURES);
    if (!(high & (1u << (VIRTIO_F_VERSION_1 - 32))))
        fail(d, PANIC_VIRTIO_INIT, "device does not offer VIRTIO_F_VERSION_1");

    /* Accept exactly VIRTIO_F_VERSION_1. */
    wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(d, VIRTIO_MMIO_DRIVER_FEATURES, 0);
    wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    wr(d, VIRTIO_MMIO_DRIVER_FEATURES, 1u << (VIRTIO_F_VERSION_1 - 32));

    uint32_t st = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
    wr(d, VIRTIO_MMIO_STATUS, st);
    if (!(rd(d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK))
        fail(d, PANIC_VIRTIO_INIT, "device did not accept FEATURES_OK");
}

uint32_t virtio_mmio_queue_max(const struct virtio_dev *d, uint32_t index) {
    wr(d, VIRTIO_MMIO_QUEUE_SEL, index);
    if (rd(d, VIRTIO_MMIO_QUEUE_READY) != 0)
        fail(d, PANIC_VIRTIO_QUEUE, "queue already live after reset");
    uint32_t max = rd(d, VIRTIO_MMIO_QUEUE_NUM_MAX);
    if (max == 0)
        fail(d, PANIC_VIRTIO_QUEUE, "queue not available (QueueNumMax 0)");
    return max;
}

void virtio_mmio_queue_enable(const struct virtio_dev *d, uint32_t index, uint32_t num,
                              uint64_t desc, uint64_t driver, uint64_t device) {
    wr(d, VIRTIO_MMIO_QUEUE_SEL, index);
    wr(d, VIRTIO_MMIO_QUEUE_NUM, num);
    wr(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
    wr(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
    wr(d, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)driver);
    wr(d, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(driver >> 32));
    wr(d, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)device);
    wr(d, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(device >> 32));
    wr(d, VIRTIO_MMIO_QUEUE_READY, 1);
}

void virtio_mmio_driver_ok(const struct virtio_dev *d) {
    wr(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                                  VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
    uint32_t st = rd(d, VIRTIO_MMIO_STATUS);
    if (st & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
        panic(PANIC_VIRTIO_NEEDS_RESET, "virtio device %u: DEVICE_NEEDS_RESET after DRIVER_OK", d->index);
    if (!(st & VIRTIO_STATUS_DRIVER_OK))
        fail(d, PANIC_VIRTIO_INIT, "DRIVER_OK did not stick");
}

uint64_t virtio_mmio_config_read64(const struct virtio_dev *d, uint32_t offset) {
    for (;;) {
        uint32_t gen = rd(d, VIRTIO_MMIO_CONFIG_GENERATION);
        uint32_t lo = rd(d, VIRTIO_MMIO_CONFIG + offset);
        uint32_t hi = rd(d, VIRTIO_MMIO_CONFIG + offset + 4);
        if (rd(d, VIRTIO_MMIO_CONFIG_GENERATION) == gen)
            return ((uint64_t)hi << 32) | lo;
    }
}
