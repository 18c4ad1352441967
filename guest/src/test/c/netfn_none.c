/* guest-tests links functions.c without the network: no network function exists there. */
#include "netfn.h"

int64_t netfn_invoke(const char *name, uint32_t name_len, const uint8_t *arg, uint32_t arg_len,
                     const uint8_t **out, uint32_t *out_len) {
    (void)name, (void)name_len, (void)arg, (void)arg_len, (void)out, (void)out_len;
    return -1;
}
