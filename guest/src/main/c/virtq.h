/* Split virtqueues (virtio 1.2, section 2.7), driver side, polled (no interrupts). */
#ifndef HOSTD_GUEST_VIRTQ_H
#define HOSTD_GUEST_VIRTQ_H
#include <stdint.h>

#include "virtio_mmio.h"

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY 1

/* Largest queue the guest uses; each queue's rings fit in one page. */
#define VIRTQ_MAX 16

struct virtq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

struct virtq_used_elem {
    uint32_t id;
    uint32_t len;
};

/* One page per queue: descriptor table (align 16), available ring (align 2), used ring (align 4). */
struct virtq_area {
    struct virtq_desc desc[VIRTQ_MAX];
    struct {
        uint16_t flags;
        uint16_t idx;
        uint16_t ring[VIRTQ_MAX];
        uint16_t used_event;
    } avail;
    struct {
        uint16_t flags;
        uint16_t idx;
        struct virtq_used_elem ring[VIRTQ_MAX];
        uint16_t avail_event;
    } used __attribute__((aligned(64)));
} __attribute__((aligned(4096)));

_Static_assert(sizeof(struct virtq_desc) == 16, "virtq_desc size");
_Static_assert(sizeof(struct virtq_area) == 4096, "virtq_area is one page");

struct virtq {
    struct virtq_area *area;
    uint16_t index;     /* queue index on the device */
    uint16_t num;       /* queue size (power of 2, <= VIRTQ_MAX) */
    uint16_t avail_idx; /* driver's copy of avail.idx */
    uint16_t last_used; /* next used.idx entry to consume */
    uint16_t added;     /* buffers made available since the last notification */
};

/* Size the queue (min of want and QueueNumMax, rounded down to a power of 2), program and enable it. */
void virtq_setup(struct virtq *q, struct virtq_area *area, const struct virtio_dev *dev,
                 uint16_t index, uint16_t want);

/* Make single-descriptor buffer `id` (< num) available. `writable`: device writes it (rx). */
void virtq_post(struct virtq *q, uint16_t id, const void *buf, uint32_t len, int writable);

/* Take the next used buffer: 1 and (*id, *len), or 0 if the device has not returned any. */
int virtq_take_used(struct virtq *q, uint32_t *id, uint32_t *len);

/* Notify the device if buffers were added since the last notification and the device has not
 * suppressed notifications. Returns 1 if a QueueNotify (an exit) was written. */
int virtq_kick(struct virtq *q, const struct virtio_dev *dev);

#endif
