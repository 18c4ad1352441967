/* Agent frames on the stream (docs/guest-abi.md, "The agent protocol"): the incremental reader
 * and the header encoder. Pure code, no I/O: the session feeds it whatever recv() returned. */
#ifndef HOSTD_LINUX_FRAMES_H
#define HOSTD_LINUX_FRAMES_H
#include <stddef.h>
#include <stdint.h>

#include "abi.h"

struct frame_reader {
    int state;
    uint8_t hdr_bytes[sizeof(struct frame_hdr)];
    uint32_t have;          /* bytes of the header, or of the payload, so far */
    struct frame_hdr hdr;   /* valid once the header is complete */
    int oversized;          /* payload > AGENT_MAX_PAYLOAD: drained, never stored */
    uint8_t *payload;       /* AGENT_MAX_PAYLOAD bytes, owned by the reader */
};

/* Returns 0, or -1 if the payload buffer cannot be allocated. */
int frames_reader_init(struct frame_reader *r);
void frames_reader_free(struct frame_reader *r);
/* Start over (a new connection). */
void frames_reader_reset(struct frame_reader *r);
/* Consume up to n bytes; stops at the end of a frame. Returns the bytes consumed. */
size_t frames_feed(struct frame_reader *r, const uint8_t *p, size_t n);
/* 1 if a whole frame is ready (hdr, oversized, payload[0..hdr.len) unless oversized). */
int frames_ready(const struct frame_reader *r);
/* Done with the ready frame: read the next one. */
void frames_done(struct frame_reader *r);

/* The 16-byte header of a frame with that payload length. */
void frames_encode_header(uint8_t out[sizeof(struct frame_hdr)], uint16_t type, uint64_t request_id,
                          uint32_t payload_len);

#endif
