#include "virtq.h"

#include "console.h"
#include "io.h"
#include "lib.h"

#define READ_ONCE(x) (*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))

void virtq_setup(struct virtq *q, struct virtq_area *area, const struct virtio_dev *dev,
                 uint16_t index, uint16_t want) {
    uint32_t max = virtio_mmio_queue_max(dev, index);
    uint32_t num = want < max ? want : max;
    while (num & (num - 1))
        num &= num - 1; /* split-queue sizes are powers of 2 */
    memset(area, 0, sizeof *area);
    q->area = area;
    q->index = index;
    q->num = (uint16_t)num;
    q->avail_idx = 0;
    q->last_used = 0;
    q->added = 0;
    /* Polled: ask the device never to interrupt (there is no IDT anyway). */
    area->avail.flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
    virtio_mmio_queue_enable(dev, index, num, (uint64_t)(uintptr_t)area->desc,
                             (uint64_t)(uintptr_t)&area->avail, (uint64_t)(uintptr_t)&area->used);
}

void virtq_post(struct virtq *q, uint16_t id, const void *buf, uint32_t len, int writable) {
    struct virtq_area *a = q->area;
    a->desc[id].addr = (uint64_t)(uintptr_t)buf;
    a->desc[id].len = len;
    a->desc[id].flags = writable ? VIRTQ_DESC_F_WRITE : 0;
    a->desc[id].next = 0;
    WRITE_ONCE(a->avail.ring[q->avail_idx & (q->num - 1)], id);
    /* The descriptor and ring entry must be visible before the index that publishes them
     * (virtio_wmb; x86 keeps stores in order, so a compiler barrier suffices). */
    barrier();
    q->avail_idx++;
    WRITE_ONCE(a->avail.idx, q->avail_idx);
    q->added++;
}

int virtq_take_used(struct virtq *q, uint32_t *id, uint32_t *len) {
    struct virtq_area *a = q->area;
    if (READ_ONCE(a->used.idx) == q->last_used)
        return 0;
    /* Read the ring entry (and the buffer) only after seeing the index (virtio_rmb; x86 keeps
     * loads in order, so a compiler barrier suffices). */
    barrier();
    struct virtq_used_elem e = a->used.ring[q->last_used & (q->num - 1)];
    q->last_used++;
    if (e.id >= q->num)
        panic(PANIC_VIRTIO_QUEUE, "queue %u: device returned bad descriptor id %u", q->index, e.id);
    *id = e.id;
    *len = e.len;
    return 1;
}

int virtq_kick(struct virtq *q, const struct virtio_dev *dev) {
    if (!q->added)
        return 0;
    q->added = 0;
    /* The avail.idx store must be visible before we read used.flags (store-load order needs a
     * real fence on x86), otherwise the device could miss the buffers while we skip the notify. */
    mb();
    if (READ_ONCE(q->area->used.flags) & VIRTQ_USED_F_NO_NOTIFY)
        return 0;
    virtio_mmio_notify(dev, q->index);
    return 1;
}
