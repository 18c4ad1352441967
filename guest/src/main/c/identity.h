/* The identity page: reading it, validating it, and the identity report built from it. */
#ifndef HOSTD_GUEST_IDENTITY_H
#define HOSTD_GUEST_IDENTITY_H
#include <stdint.h>

#include "abi.h"

/* The generation on the page, or 0 if the VMM has not written it yet (no magic). No exits. */
uint64_t identity_generation(const volatile struct identity_page *page);

/* Copy the page into *out. Returns NULL if it is valid, else what is wrong with it. */
const char *identity_read(const volatile struct identity_page *page, struct identity_page *out);

/* The report: the page as read with seed := SHA-256(seed), then agent_version and identities_seen. */
void identity_build_report(const struct identity_page *page, uint32_t identities_seen,
                           struct identity_report *out);

#endif
