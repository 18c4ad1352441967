/* The built-in functions the host can INVOKE: echo, sha256, touch, spin, identity (and, from
 * netfn.c, ping, udp, udpflood). */
#ifndef HOSTD_GUEST_FUNCTIONS_H
#define HOSTD_GUEST_FUNCTIONS_H
#include <stdint.h>

#include "abi.h"

/* Heap and TSC come from boot-info; `report` is the identity report the caller keeps current. */
void functions_init(const struct boot_info *bi, const struct identity_report *report);

/* Run a function. Returns a STATUS_* code; on STATUS_OK (*out, *out_len) is the output, valid until
 * the next call (it may point into `arg`). */
uint32_t functions_invoke(const char *name, uint32_t name_len, const uint8_t *arg, uint32_t arg_len,
                          const uint8_t **out, uint32_t *out_len);

#endif
