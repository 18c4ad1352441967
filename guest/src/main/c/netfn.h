/* The network functions the host can INVOKE: ping, udp, udpflood (see docs/guest-abi.md). */
#ifndef HOSTD_GUEST_NETFN_H
#define HOSTD_GUEST_NETFN_H
#include <stdint.h>

#include "abi.h"

void netfn_init(const struct boot_info *bi);

/* Runs a network function; returns a STATUS_* code, or -1 if `name` is not one. */
int64_t netfn_invoke(const char *name, uint32_t name_len, const uint8_t *arg, uint32_t arg_len,
                     const uint8_t **out, uint32_t *out_len);

#endif
