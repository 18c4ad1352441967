#include "agent.h"

#include "functions.h"
#include "lib.h"
#include "vsock.h"

/* ---- Frame reassembly ---- */

enum { P_HDR, P_BODY, P_DRAIN, P_READY };

static uint8_t frame_buf[AGENT_MAX_PAYLOAD] __attribute__((aligned(4096)));

static struct {
    int state;
    uint8_t hdr_bytes[sizeof(struct frame_hdr)];
    uint32_t have; /* bytes of the header, or of the payload, so far */
    struct agent_frame frame;
} parser;

void agent_parser_reset(void) {
    parser.state = P_HDR;
    parser.have = 0;
}

static void header_complete(void) {
    struct agent_frame *f = &parser.frame;
    memcpy(&f->hdr, parser.hdr_bytes, sizeof f->hdr);
    f->oversized = f->hdr.len > AGENT_MAX_PAYLOAD;
    f->payload = frame_buf;
    parser.have = 0;
    if (f->hdr.len == 0)
        parser.state = P_READY;
    else
        parser.state = f->oversized ? P_DRAIN : P_BODY;
}

size_t agent_parse(const uint8_t *p, size_t n) {
    size_t used = 0;
    while (used < n && parser.state != P_READY) {
        size_t left = n - used;
        if (parser.state == P_HDR) {
            size_t take = MIN(left, sizeof parser.hdr_bytes - parser.have);
            memcpy(parser.hdr_bytes + parser.have, p + used, take);
            parser.have += (uint32_t)take;
            used += take;
            if (parser.have == sizeof parser.hdr_bytes)
                header_complete();
        } else {
            size_t take = MIN(left, (size_t)(parser.frame.hdr.len - parser.have));
            if (parser.state == P_BODY)
                memcpy(frame_buf + parser.have, p + used, take);
            parser.have += (uint32_t)take;
            used += take;
            if (parser.have == parser.frame.hdr.len)
                parser.state = P_READY;
        }
    }
    return used;
}

const struct agent_frame *agent_frame_ready(void) {
    return parser.state == P_READY ? &parser.frame : 0;
}

void agent_frame_done(void) { agent_parser_reset(); }

/* ---- Output: one frame at a time, a small prefix (header, status) plus a body pointer ---- */

static struct {
    int pending;
    uint8_t prefix[sizeof(struct frame_hdr) + 4];
    uint32_t prefix_len;
    const uint8_t *body; /* stays valid until the frame is sent (it may point into frame_buf) */
    uint32_t body_len;
    uint32_t sent;
} out;

static const struct identity_report *hello_report;
static uint32_t agent_serial;

static void out_frame(uint16_t type, uint64_t id, const uint32_t *status, const uint8_t *body,
                      uint32_t body_len) {
    struct frame_hdr h = {.len = body_len + (status ? 4 : 0), .type = type, .flags = 0, .request_id = id};
    memcpy(out.prefix, &h, sizeof h);
    out.prefix_len = sizeof h;
    if (status) {
        memcpy(out.prefix + sizeof h, status, 4);
        out.prefix_len += 4;
    }
    out.body = body;
    out.body_len = body_len;
    out.sent = 0;
    out.pending = 1;
}

static int out_pump(void) {
    int progress = 0;
    while (out.pending) {
        uint32_t cap;
        uint8_t *dst = vsock_tx_reserve(&cap);
        if (!dst)
            break;
        uint32_t total = out.prefix_len + out.body_len;
        uint32_t n = MIN(cap, total - out.sent), done = 0;
        if (out.sent < out.prefix_len) {
            done = MIN(n, out.prefix_len - out.sent);
            memcpy(dst, out.prefix + out.sent, done);
        }
        if (n > done)
            memcpy(dst + done, out.body + (out.sent + done - out.prefix_len), n - done);
        vsock_tx_commit(n);
        out.sent += n;
        if (out.sent == total)
            out.pending = 0;
        progress = 1;
    }
    return progress;
}

static void dispatch(const struct agent_frame *f) {
    uint32_t status;
    if (f->hdr.type != FRAME_INVOKE)
        return; /* the host sends only INVOKE; anything else is ignored */
    if (f->oversized) {
        status = STATUS_TOO_LARGE;
        out_frame(FRAME_RESULT, f->hdr.request_id, &status, 0, 0);
        return;
    }
    const uint8_t *body = f->payload;
    uint32_t len = f->hdr.len;
    if (len < 1 || 1u + body[0] > len) {
        status = STATUS_BAD_ARGUMENT;
        out_frame(FRAME_RESULT, f->hdr.request_id, &status, 0, 0);
        return;
    }
    uint32_t name_len = body[0];
    const uint8_t *result = 0;
    uint32_t result_len = 0;
    status = functions_invoke((const char *)body + 1, name_len, body + 1 + name_len, len - 1 - name_len,
                              &result, &result_len);
    if (status != STATUS_OK)
        result_len = 0;
    out_frame(FRAME_RESULT, f->hdr.request_id, &status, result, result_len);
}

void agent_init(const struct identity_report *report) {
    hello_report = report;
    agent_parser_reset();
}

int agent_poll(void) {
    if (!vsock_established())
        return 0;
    int busy = 0;
    uint32_t s = vsock_conn_serial();
    if (s != agent_serial) {
        /* A new connection (first boot, new identity, or reconnect): start with HELLO. */
        agent_serial = s;
        agent_parser_reset();
        out_frame(FRAME_HELLO, 0, 0, (const uint8_t *)hello_report, sizeof *hello_report);
        busy = 1;
    }
    for (;;) {
        if (out.pending) {
            busy |= out_pump();
            if (out.pending)
                break; /* results go out in order: read no further until this one is sent */
        }
        const struct agent_frame *f = agent_frame_ready();
        if (f) {
            dispatch(f);
            agent_frame_done();
            busy = 1;
            continue;
        }
        const uint8_t *p;
        uint32_t n = vsock_rx_peek(&p);
        if (!n)
            break;
        size_t used = agent_parse(p, n);
        vsock_rx_consume((uint32_t)used);
        busy = 1;
    }
    return busy;
}
