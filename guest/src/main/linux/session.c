#include "session.h"

#include <errno.h>
#include <linux/vm_sockets.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "invoke.h"
#include "log.h"

int endpoint_parse(const char *spec, struct endpoint *ep) {
    memset(ep, 0, sizeof *ep);
    if (!strncmp(spec, "unix:", 5)) {
        size_t n = strlen(spec + 5);
        if (n == 0 || n >= sizeof ep->path)
            return -1;
        ep->unix_socket = 1;
        memcpy(ep->path, spec + 5, n + 1);
        return 0;
    }
    unsigned long cid, port;
    char *end;
    if (strncmp(spec, "vsock:", 6))
        return -1;
    cid = strtoul(spec + 6, &end, 10);
    if (*end != ':' || end == spec + 6)
        return -1;
    const char *p = end + 1;
    port = strtoul(p, &end, 10);
    if (*end || end == p || cid > UINT32_MAX || port > UINT32_MAX)
        return -1;
    ep->cid = (uint32_t)cid;
    ep->port = (uint32_t)port;
    return 0;
}

int session_init(struct session *s) {
    s->fd = -1;
    return frames_reader_init(&s->reader);
}

void session_close(struct session *s) {
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    frames_reader_reset(&s->reader);
}

static int send_all(int fd, const void *p, size_t n) {
    const uint8_t *b = p;
    while (n) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Header (and status for RESULT), then the body. */
static int send_frame(int fd, uint16_t type, uint64_t id, const uint32_t *status, const void *body,
                      uint32_t len) {
    uint8_t prefix[sizeof(struct frame_hdr) + 4];
    uint32_t plen = sizeof(struct frame_hdr);
    frames_encode_header(prefix, type, id, len + (status ? 4 : 0));
    if (status) {
        memcpy(prefix + plen, status, 4);
        plen += 4;
    }
    if (send_all(fd, prefix, plen) < 0)
        return -1;
    return len ? send_all(fd, body, len) : 0;
}

int session_open(struct session *s, const struct endpoint *ep, const struct identity_report *report) {
    session_close(s);
    int fd;
    if (ep->unix_socket) {
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        memcpy(a.sun_path, ep->path, sizeof a.sun_path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
            goto fail;
    } else {
        struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_cid = ep->cid, .svm_port = ep->port};
        fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
            goto fail;
    }
    if (fd < 0)
        return -1;
    if (send_frame(fd, FRAME_HELLO, 0, NULL, report, sizeof *report) < 0)
        goto fail;
    s->fd = fd;
    return 0;
fail:;
    int err = errno;
    close(fd);
    errno = err;
    return -1;
}

static int dispatch(struct session *s, const struct identity_report *report) {
    const struct frame_reader *r = &s->reader;
    if (r->hdr.type != FRAME_INVOKE)
        return 0; /* the host sends only INVOKE; anything else is ignored */
    uint32_t status;
    if (r->oversized) {
        status = STATUS_TOO_LARGE;
        return send_frame(s->fd, FRAME_RESULT, r->hdr.request_id, &status, NULL, 0);
    }
    const uint8_t *body = r->payload;
    uint32_t len = r->hdr.len;
    if (len < 1 || 1u + body[0] > len) {
        status = STATUS_BAD_ARGUMENT;
        return send_frame(s->fd, FRAME_RESULT, r->hdr.request_id, &status, NULL, 0);
    }
    uint32_t name_len = body[0];
    struct invoke_result res;
    status = invoke_run((const char *)body + 1, name_len, body + 1 + name_len, len - 1 - name_len, report, &res);
    int rc = send_frame(s->fd, FRAME_RESULT, r->hdr.request_id, &status, res.data,
                        status == STATUS_OK ? res.len : 0);
    invoke_result_free(&res);
    return rc;
}

int session_serve(struct session *s, const struct identity_report *report) {
    uint8_t buf[65536];
    ssize_t n = recv(s->fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (n <= 0) {
        session_close(s);
        return -1;
    }
    size_t used = 0;
    while (used < (size_t)n) {
        used += frames_feed(&s->reader, buf + used, (size_t)n - used);
        if (frames_ready(&s->reader)) {
            int rc = dispatch(s, report);
            frames_done(&s->reader);
            if (rc < 0) {
                session_close(s);
                return -1;
            }
        }
    }
    return 0;
}
