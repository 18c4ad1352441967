#include "vsock.h"

#include "console.h"
#include "io.h"
#include "lib.h"
#include "virtio_mmio.h"
#include "virtq.h"

enum { CONN_CLOSED, CONN_CONNECTING, CONN_ESTABLISHED };

struct virtio_vsock_event {
    uint32_t id;
};

static struct virtio_dev dev;
static struct virtq rxq, txq, evq;
static struct virtq_area rx_area, tx_area, ev_area;
static uint8_t rx_buf[VSOCK_RX_BUFS][VSOCK_BUF_SIZE] __attribute__((aligned(4096)));
static uint8_t tx_buf[VSOCK_TX_BUFS][VSOCK_BUF_SIZE] __attribute__((aligned(4096)));
static struct virtio_vsock_event ev_buf[VSOCK_EVENT_BUFS];
static uint8_t stream[VSOCK_BUF_ALLOC] __attribute__((aligned(4096)));
_Static_assert((VSOCK_BUF_ALLOC & (VSOCK_BUF_ALLOC - 1)) == 0, "stream ring size is a power of 2");

static uint64_t guest_cid;
static uint32_t tx_free;     /* bit i set: tx_buf[i] is ours */
static int tx_reserved = -1; /* slot handed out by vsock_tx_reserve */

static struct {
    int state;
    uint32_t local_port;
    uint32_t rx_cnt;         /* stream bytes received */
    uint32_t fwd_cnt;        /* stream bytes consumed by the agent */
    uint32_t adv_fwd_cnt;    /* fwd_cnt as last told to the host */
    uint32_t tx_cnt;         /* stream bytes sent */
    uint32_t peer_buf_alloc; /* host's receive buffer */
    uint32_t peer_fwd_cnt;   /* bytes the host has consumed */
    int credit_requested;
} conn;

static uint32_t connects;       /* connections attempted (local port choice) */
static uint32_t serial;         /* connections established */
static int waited_since_connect;
static int reconnect_now;
static int warned_malformed;

/* ---- tx buffers ---- */

static int tx_reclaim(void) {
    uint32_t id, len;
    int n = 0;
    while (virtq_take_used(&txq, &id, &len)) {
        tx_free |= 1u << id;
        n++;
    }
    return n;
}

static int tx_alloc(void) {
    if (!tx_free)
        tx_reclaim();
    /* All buffers are queued: that is a full batch. Notify; the device completes it during the exit. */
    if (!tx_free && virtq_kick(&txq, &dev))
        tx_reclaim();
    if (!tx_free)
        return -1;
    int i = __builtin_ctz(tx_free); /* lowest first: reuse the same few pages */
    tx_free &= ~(1u << i);
    return i;
}

static struct virtio_vsock_hdr *tx_hdr(int slot) { return (struct virtio_vsock_hdr *)tx_buf[slot]; }

static void tx_submit(int slot, uint32_t payload_len) {
    virtq_post(&txq, (uint16_t)slot, tx_buf[slot], VSOCK_HDR_SIZE + payload_len, 0);
}

/* Header for a packet on our connection; advertises our receive credit. */
static void conn_hdr(struct virtio_vsock_hdr *h, uint16_t op, uint32_t len, uint32_t flags) {
    h->src_cid = guest_cid;
    h->dst_cid = AGENT_HOST_CID;
    h->src_port = conn.local_port;
    h->dst_port = AGENT_HOST_PORT;
    h->len = len;
    h->type = VSOCK_TYPE_STREAM;
    h->op = op;
    h->flags = flags;
    h->buf_alloc = VSOCK_BUF_ALLOC;
    h->fwd_cnt = conn.fwd_cnt;
    conn.adv_fwd_cnt = conn.fwd_cnt;
}

static int send_ctl(uint16_t op, uint32_t flags) {
    int slot = tx_alloc();
    if (slot < 0)
        return 0;
    conn_hdr(tx_hdr(slot), op, 0, flags);
    tx_submit(slot, 0);
    return 1;
}

/* RST in answer to a packet that matches no connection of ours. Best effort. */
static void send_rst_reply(const struct virtio_vsock_hdr *in) {
    int slot = tx_alloc();
    if (slot < 0)
        return;
    struct virtio_vsock_hdr *h = tx_hdr(slot);
    memset(h, 0, sizeof *h);
    h->src_cid = guest_cid;
    h->dst_cid = in->src_cid;
    h->src_port = in->dst_port;
    h->dst_port = in->src_port;
    h->type = in->type;
    h->op = VSOCK_OP_RST;
    tx_submit(slot, 0);
}

static void conn_close(void) { conn.state = CONN_CLOSED; }

static void conn_reset(void) {
    send_ctl(VSOCK_OP_RST, 0);
    conn_close();
}

/* ---- rx ---- */

static void rx_stream_data(const uint8_t *p, uint32_t len) {
    uint32_t used = conn.rx_cnt - conn.fwd_cnt;
    if (len > VSOCK_BUF_ALLOC - used) {
        /* The host sent more than the credit we gave it. */
        conn_reset();
        return;
    }
    uint32_t off = conn.rx_cnt & (VSOCK_BUF_ALLOC - 1);
    uint32_t first = MIN(len, VSOCK_BUF_ALLOC - off);
    memcpy(stream + off, p, first);
    memcpy(stream, p + first, len - first);
    conn.rx_cnt += len;
}

static void rx_packet(const struct virtio_vsock_hdr *h, const uint8_t *payload) {
    if (h->type != VSOCK_TYPE_STREAM) {
        if (h->op != VSOCK_OP_RST)
            send_rst_reply(h);
        return;
    }
    int ours = conn.state != CONN_CLOSED && h->src_cid == AGENT_HOST_CID &&
               h->src_port == AGENT_HOST_PORT && h->dst_cid == guest_cid &&
               h->dst_port == conn.local_port;
    if (!ours) {
        /* No listeners, and no other connections: REQUESTs and strays get RST. */
        if (h->op != VSOCK_OP_RST)
            send_rst_reply(h);
        return;
    }

    /* Every packet carries the host's receive credit. */
    if (h->buf_alloc != conn.peer_buf_alloc || h->fwd_cnt != conn.peer_fwd_cnt)
        conn.credit_requested = 0;
    conn.peer_buf_alloc = h->buf_alloc;
    conn.peer_fwd_cnt = h->fwd_cnt;

    if (conn.state == CONN_CONNECTING) {
        if (h->op == VSOCK_OP_RESPONSE) {
            conn.state = CONN_ESTABLISHED;
            serial++;
        } else if (h->op == VSOCK_OP_RST) {
            conn_close();
        } else {
            conn_reset();
        }
        return;
    }

    switch (h->op) {
    case VSOCK_OP_RW:
        rx_stream_data(payload, h->len);
        break;
    case VSOCK_OP_CREDIT_UPDATE:
        break; /* credit taken from the header above */
    case VSOCK_OP_CREDIT_REQUEST:
        send_ctl(VSOCK_OP_CREDIT_UPDATE, 0);
        break;
    case VSOCK_OP_RST:
        conn_close();
        break;
    case VSOCK_OP_SHUTDOWN:
        /* The agent cannot work half-open: close the connection fully. */
    default:
        conn_reset();
        break;
    }
}

static void rx_buffer(uint32_t id, uint32_t used_len) {
    const uint8_t *buf = rx_buf[id];
    struct virtio_vsock_hdr h;
    if (used_len < VSOCK_HDR_SIZE)
        goto malformed;
    memcpy(&h, buf, sizeof h);
    if (h.len > used_len - VSOCK_HDR_SIZE || h.len > VSOCK_MAX_PAYLOAD)
        goto malformed;
    rx_packet(&h, buf + VSOCK_HDR_SIZE);
    return;
malformed:
    if (!warned_malformed) {
        warned_malformed = 1;
        console_printf("hostd-test-guest: vsock: dropped a malformed rx packet (used len %u)\n", used_len);
    }
}

static void rx_repost(uint32_t id) { virtq_post(&rxq, (uint16_t)id, rx_buf[id], VSOCK_BUF_SIZE, 1); }

static void ev_repost(uint32_t id) { virtq_post(&evq, (uint16_t)id, &ev_buf[id], sizeof ev_buf[id], 1); }

/* ---- public ---- */

void vsock_init(const struct boot_info *bi) {
    if (!virtio_mmio_find(bi, VIRTIO_ID_VSOCK, &dev))
        panic(PANIC_NO_VSOCK, "no virtio-vsock device");
    virtio_mmio_begin(&dev);
    virtq_setup(&rxq, &rx_area, &dev, 0, VSOCK_RX_BUFS);
    virtq_setup(&txq, &tx_area, &dev, 1, VSOCK_TX_BUFS);
    virtq_setup(&evq, &ev_area, &dev, 2, VSOCK_EVENT_BUFS);
    for (uint32_t i = 0; i < rxq.num; i++)
        rx_repost(i);
    for (uint32_t i = 0; i < evq.num; i++)
        ev_repost(i);
    tx_free = (uint32_t)((1ull << txq.num) - 1);
    guest_cid = virtio_mmio_config_read64(&dev, 0);
    if (guest_cid < 3 || guest_cid > 0xFFFFFFFFu)
        panic(PANIC_VIRTIO_INIT, "virtio-vsock: bad guest cid %lu", (unsigned long)guest_cid);
    virtio_mmio_driver_ok(&dev);
    /* The posted rx/event buffers are announced by the first vsock_flush. */
}

void vsock_forget(void) {
    uint32_t id, len;
    while (virtq_take_used(&rxq, &id, &len))
        rx_repost(id);
    while (virtq_take_used(&evq, &id, &len))
        ev_repost(id);
    tx_reclaim();
    memset(&conn, 0, sizeof conn);
    reconnect_now = 0;
}

int vsock_connect(void) {
    memset(&conn, 0, sizeof conn);
    conn.local_port = 49152 + (connects++ & 0x3FFF);
    waited_since_connect = 0;
    if (!send_ctl(VSOCK_OP_REQUEST, 0)) {
        reconnect_now = 1;
        return 0;
    }
    reconnect_now = 0;
    conn.state = CONN_CONNECTING;
    return 1;
}

int vsock_wants_connect(void) { return conn.state == CONN_CLOSED && (reconnect_now || waited_since_connect); }

void vsock_waited(void) { waited_since_connect = 1; }

int vsock_poll(void) {
    int busy = 0;
    uint32_t id, len;
    while (virtq_take_used(&rxq, &id, &len)) {
        rx_buffer(id, len);
        rx_repost(id);
        busy = 1;
    }
    while (virtq_take_used(&evq, &id, &len)) {
        if (len >= sizeof ev_buf[id] && ev_buf[id].id == VSOCK_EVENT_TRANSPORT_RESET) {
            /* The host dropped every connection (and our CID may have changed). */
            guest_cid = virtio_mmio_config_read64(&dev, 0);
            conn_close();
            reconnect_now = 1;
        }
        ev_repost(id);
        busy = 1;
    }
    if (tx_reclaim())
        busy = 1;
    return busy;
}

int vsock_flush(void) {
    /* The host's view of our free space is buf_alloc - (rx_cnt - adv_fwd_cnt); tell it about
     * consumed bytes before that drops below one full packet. Otherwise packets we send anyway
     * carry fwd_cnt. */
    if (conn.state == CONN_ESTABLISHED && conn.fwd_cnt != conn.adv_fwd_cnt &&
        conn.rx_cnt - conn.adv_fwd_cnt > VSOCK_BUF_ALLOC - VSOCK_MAX_PAYLOAD)
        send_ctl(VSOCK_OP_CREDIT_UPDATE, 0);
    int kicked = 0;
    kicked |= virtq_kick(&rxq, &dev);
    kicked |= virtq_kick(&evq, &dev);
    kicked |= virtq_kick(&txq, &dev);
    return kicked;
}

int vsock_established(void) { return conn.state == CONN_ESTABLISHED; }

uint32_t vsock_conn_serial(void) { return serial; }

uint32_t vsock_rx_peek(const uint8_t **p) {
    if (conn.state != CONN_ESTABLISHED)
        return 0;
    uint32_t avail = conn.rx_cnt - conn.fwd_cnt;
    uint32_t off = conn.fwd_cnt & (VSOCK_BUF_ALLOC - 1);
    *p = stream + off;
    return MIN(avail, VSOCK_BUF_ALLOC - off);
}

void vsock_rx_consume(uint32_t n) { conn.fwd_cnt += n; }

uint8_t *vsock_tx_reserve(uint32_t *cap) {
    if (conn.state != CONN_ESTABLISHED)
        return 0;
    uint32_t in_flight = conn.tx_cnt - conn.peer_fwd_cnt;
    uint32_t credit = in_flight < conn.peer_buf_alloc ? conn.peer_buf_alloc - in_flight : 0;
    if (credit == 0) {
        if (!conn.credit_requested && send_ctl(VSOCK_OP_CREDIT_REQUEST, 0))
            conn.credit_requested = 1;
        return 0;
    }
    int slot = tx_alloc();
    if (slot < 0)
        return 0;
    tx_reserved = slot;
    *cap = MIN(credit, (uint32_t)VSOCK_MAX_PAYLOAD);
    return tx_buf[slot] + VSOCK_HDR_SIZE;
}

void vsock_tx_commit(uint32_t len) {
    int slot = tx_reserved;
    tx_reserved = -1;
    if (slot < 0)
        return;
    if (len == 0) {
        tx_free |= 1u << slot;
        return;
    }
    conn_hdr(tx_hdr(slot), VSOCK_OP_RW, len, 0);
    tx_submit(slot, len);
    conn.tx_cnt += len;
}
