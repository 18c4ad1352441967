#include "frames.h"

#include <stdlib.h>
#include <string.h>

enum { R_HDR, R_BODY, R_DRAIN, R_READY };

int frames_reader_init(struct frame_reader *r) {
    memset(r, 0, sizeof *r);
    r->payload = malloc(AGENT_MAX_PAYLOAD);
    return r->payload ? 0 : -1;
}

void frames_reader_free(struct frame_reader *r) {
    free(r->payload);
    r->payload = NULL;
}

void frames_reader_reset(struct frame_reader *r) {
    r->state = R_HDR;
    r->have = 0;
    r->oversized = 0;
}

static void header_complete(struct frame_reader *r) {
    memcpy(&r->hdr, r->hdr_bytes, sizeof r->hdr);
    /* The length comes from the host: never trust it further than this comparison. */
    r->oversized = r->hdr.len > AGENT_MAX_PAYLOAD;
    r->have = 0;
    if (r->hdr.len == 0)
        r->state = R_READY;
    else
        r->state = r->oversized ? R_DRAIN : R_BODY;
}

size_t frames_feed(struct frame_reader *r, const uint8_t *p, size_t n) {
    size_t used = 0;
    while (used < n && r->state != R_READY) {
        size_t left = n - used, take;
        if (r->state == R_HDR) {
            take = sizeof r->hdr_bytes - r->have;
            if (take > left)
                take = left;
            memcpy(r->hdr_bytes + r->have, p + used, take);
            r->have += (uint32_t)take;
            used += take;
            if (r->have == sizeof r->hdr_bytes)
                header_complete(r);
        } else {
            take = r->hdr.len - r->have;
            if (take > left)
                take = left;
            if (r->state == R_BODY) /* have + take <= hdr.len <= AGENT_MAX_PAYLOAD */
                memcpy(r->payload + r->have, p + used, take);
            r->have += (uint32_t)take;
            used += take;
            if (r->have == r->hdr.len)
                r->state = R_READY;
        }
    }
    return used;
}

int frames_ready(const struct frame_reader *r) { return r->state == R_READY; }

void frames_done(struct frame_reader *r) { frames_reader_reset(r); }

void frames_encode_header(uint8_t out[sizeof(struct frame_hdr)], uint16_t type, uint64_t request_id,
                          uint32_t payload_len) {
    struct frame_hdr h = {.len = payload_len, .type = type, .flags = 0, .request_id = request_id};
    memcpy(out, &h, sizeof h);
}
