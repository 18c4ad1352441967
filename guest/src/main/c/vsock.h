/* virtio-vsock (virtio 1.2, section 5.10): one stream connection from the guest to the host. */
#ifndef HOSTD_GUEST_VSOCK_H
#define HOSTD_GUEST_VSOCK_H
#include <stdint.h>

#include "abi.h"

#define VIRTIO_ID_VSOCK 19

#define VSOCK_HDR_SIZE 44
#define VSOCK_MAX_PAYLOAD 65536
#define VSOCK_BUF_SIZE (VSOCK_HDR_SIZE + VSOCK_MAX_PAYLOAD)
#define VSOCK_RX_BUFS 16
#define VSOCK_TX_BUFS 16
#define VSOCK_EVENT_BUFS 4
#define VSOCK_BUF_ALLOC (2u << 20) /* our receive buffer (the stream ring), advertised as buf_alloc */

#define VSOCK_TYPE_STREAM 1

#define VSOCK_OP_INVALID 0
#define VSOCK_OP_REQUEST 1
#define VSOCK_OP_RESPONSE 2
#define VSOCK_OP_RST 3
#define VSOCK_OP_SHUTDOWN 4
#define VSOCK_OP_RW 5
#define VSOCK_OP_CREDIT_UPDATE 6
#define VSOCK_OP_CREDIT_REQUEST 7

#define VSOCK_EVENT_TRANSPORT_RESET 0

struct virtio_vsock_hdr {
    uint64_t src_cid;
    uint64_t dst_cid;
    uint32_t src_port;
    uint32_t dst_port;
    uint32_t len;
    uint16_t type;
    uint16_t op;
    uint32_t flags;
    uint32_t buf_alloc;
    uint32_t fwd_cnt;
} __attribute__((packed));

_Static_assert(sizeof(struct virtio_vsock_hdr) == VSOCK_HDR_SIZE, "virtio_vsock_hdr size");

/* Find and initialise the device (first boot). Panics if there is none or it misbehaves. */
void vsock_init(const struct boot_info *bi);

/* Forget the connection without sending anything, and drop packets already received
 * (they belong to the previous identity). */
void vsock_forget(void);

/* Connect to the agent's host port (sends REQUEST). Returns 0 if no tx buffer was free. */
int vsock_connect(void);

/* The connection is closed and should be retried now: after a transport reset, or once per
 * wait after the host refused or closed it (so a refusing host never makes the guest spin). */
int vsock_wants_connect(void);

/* Tell the transport the vCPU has waited on PORT_WAIT. */
void vsock_waited(void);

/* Process used rx/event buffers (reposting them) and reclaim tx buffers. 1 if anything happened. */
int vsock_poll(void);

/* Send a credit update if the host may be short of credit, then notify every queue with new
 * buffers (one QueueNotify per queue per batch). 1 if a notification was sent. */
int vsock_flush(void);

/* ---- The stream, as the agent sees it ---- */
int vsock_established(void);
/* Increments each time a connection is established, never reset. */
uint32_t vsock_conn_serial(void);
/* A contiguous run of received bytes (0 if none). */
uint32_t vsock_rx_peek(const uint8_t **p);
/* Mark n peeked bytes consumed (returns credit to the host). */
void vsock_rx_consume(uint32_t n);
/* Reserve a tx packet: returns where to put up to *cap payload bytes, or NULL if the host has no
 * credit for us (a CREDIT_REQUEST is sent once) or no tx buffer is free. Commit before reserving again. */
uint8_t *vsock_tx_reserve(uint32_t *cap);
void vsock_tx_commit(uint32_t len);

#endif
