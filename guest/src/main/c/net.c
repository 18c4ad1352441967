#include "net.h"

#include "console.h"
#include "lib.h"
#include "netstack.h"
#include "virtio_mmio.h"
#include "virtq.h"

static struct virtio_dev dev;
static int present;
static struct virtq rxq, txq;
static struct virtq_area rx_area, tx_area;
static uint8_t rx_buf[NET_RX_BUFS][NET_BUF_SIZE] __attribute__((aligned(4096)));
static uint8_t tx_buf[NET_TX_BUFS][NET_BUF_SIZE] __attribute__((aligned(4096)));
static uint32_t tx_free; /* bit i set: tx_buf[i] is ours */

static void rx_repost(uint32_t id) { virtq_post(&rxq, (uint16_t)id, rx_buf[id], NET_BUF_SIZE, 1); }

static int tx_reclaim(void) {
    uint32_t id, len;
    int n = 0;
    while (virtq_take_used(&txq, &id, &len)) {
        tx_free |= 1u << id;
        n++;
    }
    return n;
}

int net_init(const struct boot_info *bi) {
    if (!virtio_mmio_find(bi, VIRTIO_ID_NET, &dev))
        return 0;
    virtio_mmio_begin(&dev);
    virtq_setup(&rxq, &rx_area, &dev, 0, NET_RX_BUFS);
    virtq_setup(&txq, &tx_area, &dev, 1, NET_TX_BUFS);
    for (uint32_t i = 0; i < rxq.num; i++)
        rx_repost(i);
    tx_free = (uint32_t)((1ull << txq.num) - 1);
    virtio_mmio_driver_ok(&dev);
    present = 1;
    return 1;
}

int net_present(void) { return present; }

void net_apply_identity(const struct identity_page *ident) {
    struct net_config c;
    memcpy(c.mac, ident->mac, 6);
    memcpy(c.ip, ident->ipv4, 4);
    c.prefix = ident->prefix_len;
    memcpy(c.gateway, ident->gateway, 4);
    stack_configure(&c);
    if (!present)
        return;
    uint32_t id, len;
    while (virtq_take_used(&rxq, &id, &len))
        rx_repost(id);
    tx_reclaim();
}

int net_poll(void) {
    if (!present)
        return 0;
    int busy = 0;
    uint32_t id, len;
    while (virtq_take_used(&rxq, &id, &len)) {
        if (len >= NET_HDR_SIZE && len <= NET_BUF_SIZE)
            stack_input(rx_buf[id] + NET_HDR_SIZE, len - NET_HDR_SIZE);
        rx_repost(id);
        busy = 1;
    }
    if (tx_reclaim())
        busy = 1;
    return busy;
}

int net_flush(void) {
    if (!present)
        return 0;
    int kicked = virtq_kick(&rxq, &dev);
    kicked |= virtq_kick(&txq, &dev);
    return kicked;
}

int stack_output(const uint8_t *frame, uint32_t len) {
    if (!present || len > NET_BUF_SIZE - NET_HDR_SIZE)
        return 0;
    if (!tx_free)
        tx_reclaim();
    /* Every buffer is queued: a full batch. Notify; the device sends it during the exit. */
    if (!tx_free && virtq_kick(&txq, &dev))
        tx_reclaim();
    if (!tx_free)
        return 0;
    int i = __builtin_ctz(tx_free);
    tx_free &= ~(1u << i);
    memset(tx_buf[i], 0, NET_HDR_SIZE);
    memcpy(tx_buf[i] + NET_HDR_SIZE, frame, len);
    virtq_post(&txq, (uint16_t)i, tx_buf[i], NET_HDR_SIZE + len, 0);
    return 1;
}
