/* virtio-net (virtio 1.2, section 5.1), driver side: one rx and one tx queue, polled. Frames are a
 * 12-byte virtio_net_hdr_v1 (all zero on tx) and an Ethernet frame, one descriptor each. */
#ifndef HOSTD_GUEST_NET_H
#define HOSTD_GUEST_NET_H
#include <stdint.h>

#include "abi.h"

#define VIRTIO_ID_NET 1
#define NET_HDR_SIZE 12
#define NET_BUF_SIZE 2048 /* >= 12 + 1518: the device needs room for any frame */
#define NET_RX_BUFS 16
#define NET_TX_BUFS 16

/* Find and initialise the device, if the VM has one. Returns 1 if it does. */
int net_init(const struct boot_info *bi);
int net_present(void);

/* A new identity: drop frames already received (they were for the old one), take the new
 * addresses into the stack. */
void net_apply_identity(const struct identity_page *ident);

/* Feed received frames to the stack (reposting their buffers) and reclaim tx buffers. 1 if anything happened. */
int net_poll(void);

/* Notify the device of new tx (and rx, unless it suppressed that) buffers. 1 if a notification was sent. */
int net_flush(void);

#endif
