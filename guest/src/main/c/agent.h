/* The agent: frames on the vsock stream (HELLO, INVOKE, RESULT). */
#ifndef HOSTD_GUEST_AGENT_H
#define HOSTD_GUEST_AGENT_H
#include <stddef.h>
#include <stdint.h>

#include "abi.h"

/* `report` is sent as HELLO on every new connection; the caller keeps it current. */
void agent_init(const struct identity_report *report);

/* Send HELLO on a new connection, reassemble and answer INVOKEs, push pending output.
 * Uses the vsock stream API. Returns 1 if anything happened. */
int agent_poll(void);

/* ---- Frame reassembly (exposed for tests) ---- */
struct agent_frame {
    struct frame_hdr hdr;
    int oversized;        /* payload > AGENT_MAX_PAYLOAD: drained, not stored */
    const uint8_t *payload; /* hdr.len bytes unless oversized */
};

/* Start over (new connection). */
void agent_parser_reset(void);
/* Consume up to n stream bytes; stops at the end of a frame. Returns the bytes consumed. */
size_t agent_parse(const uint8_t *p, size_t n);
/* The completed frame, or NULL if the frame in progress is not complete yet. */
const struct agent_frame *agent_frame_ready(void);
/* Done with the completed frame: parse the next one. */
void agent_frame_done(void);

#endif
