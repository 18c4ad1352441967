/* Applying an identity to this Linux instance: network, hostname, RNG reseed, clock. */
#ifndef HOSTD_LINUX_APPLY_H
#define HOSTD_LINUX_APPLY_H

#include "abi.h"

/* Steps that may be left out (the host-side tests leave out the clock: it is not namespaced). */
#define APPLY_NET 1u
#define APPLY_HOSTNAME 2u
#define APPLY_RNG 4u
#define APPLY_CLOCK 8u
#define APPLY_ALL (APPLY_NET | APPLY_HOSTNAME | APPLY_RNG | APPLY_CLOCK)

/* The interface that carries the sandbox's address: the first virtio-net device. */
#define APPLY_IFNAME "eth0"

/* Apply a page already validated by identity_read(). A missing eth0 is not an error (a VM without
 * a network device): the network step is skipped and logged. Returns 0, or -1 with errno set and
 * *why naming the failed step. */
int apply_identity(const struct identity_page *page, unsigned steps, const char **why);

#endif
