/* virtio-mmio version 2 transport (virtio 1.2, section 4.2.2). Every register access is an exit. */
#ifndef HOSTD_GUEST_VIRTIO_MMIO_H
#define HOSTD_GUEST_VIRTIO_MMIO_H
#include <stdint.h>

#include "abi.h"

#define VIRTIO_MMIO_MAGIC_VALUE 0x000
#define VIRTIO_MMIO_VERSION 0x004
#define VIRTIO_MMIO_DEVICE_ID 0x008
#define VIRTIO_MMIO_VENDOR_ID 0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES 0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES 0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL 0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX 0x034
#define VIRTIO_MMIO_QUEUE_NUM 0x038
#define VIRTIO_MMIO_QUEUE_READY 0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY 0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS 0x060
#define VIRTIO_MMIO_INTERRUPT_ACK 0x064
#define VIRTIO_MMIO_STATUS 0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW 0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH 0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW 0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH 0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW 0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH 0x0a4
#define VIRTIO_MMIO_CONFIG_GENERATION 0x0fc
#define VIRTIO_MMIO_CONFIG 0x100

#define VIRTIO_MMIO_MAGIC 0x74726976u /* "virt" */

#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED 128

#define VIRTIO_F_VERSION_1 32

struct virtio_dev {
    uint64_t base;
    uint32_t device_id;
    uint32_t index; /* position in the boot-info device table */
};

/* Find the first device with this virtio device id in the boot-info table; 0 if none. */
int virtio_mmio_find(const struct boot_info *bi, uint32_t device_id, struct virtio_dev *dev);

/* Reset, ACKNOWLEDGE, DRIVER, accept exactly VIRTIO_F_VERSION_1, FEATURES_OK. Panics on failure. */
void virtio_mmio_begin(const struct virtio_dev *dev);

/* Select queue `index`, check it exists and is not live, return QueueNumMax (panics if 0). */
uint32_t virtio_mmio_queue_max(const struct virtio_dev *dev, uint32_t index);

/* Program size and ring addresses of queue `index` and set QueueReady. */
void virtio_mmio_queue_enable(const struct virtio_dev *dev, uint32_t index, uint32_t num,
                              uint64_t desc, uint64_t driver, uint64_t device);

/* Set DRIVER_OK and check the device did not ask for a reset. Panics on failure. */
void virtio_mmio_driver_ok(const struct virtio_dev *dev);

/* Read a little-endian u64 from device config space (two 32-bit reads, generation-checked). */
uint64_t virtio_mmio_config_read64(const struct virtio_dev *dev, uint32_t offset);

static inline void virtio_mmio_notify(const struct virtio_dev *dev, uint32_t queue);

#include "io.h"
static inline void virtio_mmio_notify(const struct virtio_dev *dev, uint32_t queue) {
    mmio_write32(dev->base + VIRTIO_MMIO_QUEUE_NOTIFY, queue);
}

#endif
