/* One agent connection to the host: connect, HELLO, then INVOKE -> RESULT in order. */
#ifndef HOSTD_LINUX_SESSION_H
#define HOSTD_LINUX_SESSION_H
#include <stdint.h>

#include "abi.h"
#include "frames.h"

/* Where the host listens: AF_VSOCK cid:port in a VM; a Unix socket path in host-side tests. */
struct endpoint {
    int unix_socket; /* 1: path; 0: vsock cid/port */
    uint32_t cid, port;
    char path[108];
};

/* "vsock:CID:PORT" or "unix:PATH". Returns 0 or -1. */
int endpoint_parse(const char *spec, struct endpoint *ep);

struct session {
    int fd; /* -1 when not connected */
    struct frame_reader reader;
};

int session_init(struct session *s); /* -1: out of memory */
/* Connects and sends HELLO with `report`. Returns 0, or -1 with errno (not connected). */
int session_open(struct session *s, const struct endpoint *ep, const struct identity_report *report);
/* Reads what the host sent (the fd is readable) and answers every complete INVOKE. Returns 0, or
 * -1 when the connection ended (EOF, reset, error): the session is closed then. */
int session_serve(struct session *s, const struct identity_report *report);
void session_close(struct session *s);

#endif
