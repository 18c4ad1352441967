/* Host-side unit tests of the Linux agent's parsing of host-provided input: agent frames across
 * arbitrary read boundaries (and oversized, empty, truncated ones), the kernel command line's
 * identity address, the identity page through a file mapping, the modules.dep planner, exec's
 * argument vector, the functions, and a session over a socketpair. Built with ASan/UBSan. Prints "N passed, M failed". */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "abi.h"
#include "frames.h"
#include "identity.h"
#include "idpage.h"
#include "invoke.h"
#include "modules.h"
#include "session.h"
#include "sha256.h"

#include "check.h"

static uint64_t rng = 0x243F6A8885A308D3ull;
static uint32_t rnd(uint32_t n) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return n ? (uint32_t)(rng % n) : 0;
}

/* ---------------- frames ---------------- */

static size_t put_frame(uint8_t *out, uint16_t type, uint64_t id, const void *payload, uint32_t len) {
    frames_encode_header(out, type, id, len);
    memcpy(out + 16, payload, len);
    return 16 + len;
}

static void test_frames(void) {
    struct frame_reader r;
    CHECK(frames_reader_init(&r) == 0, "reader init");

    /* A stream of frames of many sizes, fed in random pieces, comes out frame by frame. */
    static uint8_t stream[1 << 20];
    uint32_t lens[40];
    size_t total = 0;
    for (int i = 0; i < 40; i++) {
        lens[i] = i == 0 ? 0 : rnd(i < 35 ? 300 : 20000);
        uint8_t payload[20000];
        for (uint32_t k = 0; k < lens[i]; k++)
            payload[k] = (uint8_t)(i * 7 + k);
        total += put_frame(stream + total, FRAME_INVOKE, 1000 + (uint64_t)i, payload, lens[i]);
    }
    for (int round = 0; round < 20; round++) {
        frames_reader_reset(&r);
        size_t off = 0;
        int got = 0, good = 1;
        while (off < total) {
            size_t piece = 1 + rnd(round < 10 ? 17 : 5000);
            if (piece > total - off)
                piece = total - off;
            size_t used = 0;
            while (used < piece) {
                used += frames_feed(&r, stream + off + used, piece - used);
                if (frames_ready(&r)) {
                    if (r.hdr.request_id != 1000u + (uint64_t)got || r.hdr.len != lens[got] || r.oversized)
                        good = 0;
                    for (uint32_t k = 0; k < r.hdr.len && good; k++)
                        good = r.payload[k] == (uint8_t)(got * 7 + k);
                    got++;
                    frames_done(&r);
                }
            }
            off += piece;
        }
        CHECK(good && got == 40, "round %d: %d frames, intact %d", round, got, good);
    }

    /* An oversized frame is drained (never stored) and the next frame still parses. */
    frames_reader_reset(&r);
    uint8_t hdr[16];
    frames_encode_header(hdr, FRAME_INVOKE, 9, AGENT_MAX_PAYLOAD + 1);
    CHECK(frames_feed(&r, hdr, 16) == 16 && !frames_ready(&r), "oversized header taken");
    static uint8_t junk[AGENT_MAX_PAYLOAD + 1];
    memset(junk, 0xAB, sizeof junk);
    size_t used = frames_feed(&r, junk, sizeof junk);
    CHECK(used == sizeof junk && frames_ready(&r) && r.oversized && r.hdr.request_id == 9, "oversized drained");
    frames_done(&r);
    uint8_t small[20];
    put_frame(small, FRAME_INVOKE, 10, "abcd", 4);
    CHECK(frames_feed(&r, small, 20) == 20 && frames_ready(&r) && !r.oversized && !memcmp(r.payload, "abcd", 4),
          "frame after an oversized one");
    frames_done(&r);

    /* A frame of exactly the maximum is stored whole; feeding stops at its end. */
    frames_encode_header(hdr, FRAME_INVOKE, 11, AGENT_MAX_PAYLOAD);
    frames_feed(&r, hdr, 16);
    used = frames_feed(&r, junk, sizeof junk);
    CHECK(used == AGENT_MAX_PAYLOAD && frames_ready(&r) && !r.oversized && r.payload[AGENT_MAX_PAYLOAD - 1] == 0xAB,
          "maximum frame: used %zu", used);
    frames_done(&r);

    /* A truncated header is not a frame. */
    CHECK(frames_feed(&r, hdr, 15) == 15 && !frames_ready(&r), "15 header bytes are not a frame");
    frames_reader_reset(&r);

    struct frame_hdr h;
    frames_encode_header((uint8_t *)&h, FRAME_RESULT, 0x1122334455667788ull, 77);
    CHECK(h.len == 77 && h.type == FRAME_RESULT && h.flags == 0 && h.request_id == 0x1122334455667788ull, "encode");
    frames_reader_free(&r);
}

/* ---------------- kernel command line ---------------- */

static void cmdline_ok(const char *line, uint64_t want) {
    uint64_t got = 1;
    const char *why = NULL;
    int rc = idpage_parse_cmdline(line, strlen(line), &got, &why);
    CHECK(rc == 0 && got == want, "'%s': rc %d (%s), got 0x%llx want 0x%llx", line, rc, why ? why : "",
          (unsigned long long)got, (unsigned long long)want);
}

static void cmdline_bad(const char *line) {
    uint64_t got = 1;
    const char *why = NULL;
    CHECK(idpage_parse_cmdline(line, strlen(line), &got, &why) < 0 && why && got == 1, "'%s' rejected", line);
}

static void test_cmdline(void) {
    cmdline_ok("", IDENTITY_ADDR);
    cmdline_ok("console=ttyS0 quiet\n", IDENTITY_ADDR);
    cmdline_ok("console=ttyS0 hostd.identity=0x9f000 quiet\n", 0x9f000);
    cmdline_ok("hostd.identity=0X9F000", 0x9f000);
    cmdline_ok("hostd.identity=0x1000 hostd.identity=0x2000", 0x2000);
    cmdline_ok("xhostd.identity=0x1000", IDENTITY_ADDR); /* another parameter */
    cmdline_ok("hostd.identity=0xFFFFFEF0", 0xFFFFFEF0); /* the page ends exactly at 4 GiB */
    cmdline_bad("hostd.identity=");
    cmdline_bad("hostd.identity=0x");
    cmdline_bad("hostd.identity=4096");
    cmdline_bad("hostd.identity=0x10g0");
    cmdline_bad("hostd.identity=0xFFFFFFFF");
    cmdline_bad("hostd.identity=0x100000000");
    cmdline_bad("hostd.identity=0x00000000000000000001");
    /* Only `len` bytes are read, and a NUL ends the line. */
    const char buf[] = "hostd.identity=0x3000";
    uint64_t a = 0;
    const char *why;
    CHECK(idpage_parse_cmdline(buf, 14, &a, &why) == 0 && a == IDENTITY_ADDR, "length respected");
    CHECK(idpage_parse_cmdline("a\0hostd.identity=0x3000", 23, &a, &why) == 0 && a == IDENTITY_ADDR, "NUL ends");
}

/* ---------------- identity page through a file mapping ---------------- */

static struct identity_page sample(uint64_t gen) {
    struct identity_page p;
    memset(&p, 0, sizeof p);
    p.magic = IDENTITY_MAGIC;
    p.version = IDENTITY_VERSION;
    p.size = IDENTITY_SIZE;
    p.generation = gen;
    memcpy(p.mac, "\x02\x00\x00\x00\x00\x07", 6);
    memcpy(p.ipv4, "\xc6\x12\x00\x02", 4);
    p.prefix_len = 24;
    memcpy(p.gateway, "\xc6\x12\x00\x01", 4);
    strcpy(p.hostname, "sb-7");
    strcpy(p.sandbox_id, "sandbox-7");
    strcpy(p.tenant_id, "tenant-7");
    for (int i = 0; i < 32; i++)
        p.seed[i] = (uint8_t)(i + gen);
    p.wall_clock_ns = 1800000000000000000ull;
    return p;
}

static void test_idpage_file(void) {
    char path[] = "/tmp/linux-agent-id-XXXXXX";
    int fd = mkstemp(path);
    uint8_t page[8192] = {0};
    struct identity_page pg = sample(3);
    memcpy(page + 0xF80, &pg, sizeof pg); /* crosses a page boundary: the mapping covers both */
    CHECK(write(fd, page, sizeof page) == (ssize_t)sizeof page, "write");
    struct idpage m;
    const char *why = NULL;
    CHECK(idpage_map(&m, path, 0xF80, &why) == 0, "map at an unaligned offset: %s", why ? why : "");
    if (m.page) {
        struct identity_page copy;
        CHECK(identity_generation(m.page) == 3, "generation through the mapping");
        CHECK(identity_read(m.page, &copy) == NULL && !memcmp(&copy, &pg, sizeof pg), "page read");
        /* A clone's new page is seen without remapping (MAP_SHARED). */
        pg.generation = 4;
        CHECK(pwrite(fd, &pg, sizeof pg, 0xF80) == (ssize_t)sizeof pg, "pwrite");
        CHECK(identity_generation(m.page) == 4, "new generation seen");
        /* Bad pages are rejected, each for its reason. */
        struct identity_page bad = pg;
        bad.hostname[63] = 'x';
        memset(bad.hostname, 'h', 64);
        pwrite(fd, &bad, sizeof bad, 0xF80);
        const char *r = identity_read(m.page, &copy);
        CHECK(r && strstr(r, "NUL"), "unterminated hostname: %s", r ? r : "accepted");
        bad = pg;
        bad.size = 0x100;
        pwrite(fd, &bad, sizeof bad, 0xF80);
        CHECK(identity_read(m.page, &copy) != NULL, "bad size rejected");
        bad = pg;
        bad.version = 2;
        pwrite(fd, &bad, sizeof bad, 0xF80);
        CHECK(identity_read(m.page, &copy) != NULL, "bad version rejected");
        idpage_unmap(&m);
    }
    /* A file too short for the page is refused before it could fault. */
    CHECK(idpage_map(&m, path, sizeof page - 0x100, &why) < 0 && strstr(why, "shorter"), "short file refused");
    CHECK(idpage_map(&m, "/nonexistent/identity", 0, &why) < 0 && !strcmp(why, "open"), "missing file");
    close(fd);
    unlink(path);
}

/* ---------------- modules.dep planner ---------------- */

static const char DEP[] =
    "kernel/drivers/virtio/virtio_ring.ko:\n"
    "kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko\n"
    "kernel/drivers/virtio/virtio_mmio.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko\n"
    "kernel/net/core/failover.ko:\n"
    "kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko\n"
    "kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko "
    "kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko\n"
    "kernel/net/vmw_vsock/vsock.ko:\n"
    "kernel/net/vmw_vsock/vmw_vsock_virtio_transport_common.ko: kernel/net/vmw_vsock/vsock.ko\n"
    "kernel/net/vmw_vsock/vmw_vsock_virtio_transport.ko: kernel/net/vmw_vsock/vmw_vsock_virtio_transport_common.ko "
    "kernel/net/vmw_vsock/vsock.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko\n"
    "kernel/x/cyc-a.ko: kernel/x/cyc_b.ko\n"
    "kernel/x/cyc_b.ko: kernel/x/cyc-a.ko\n"
    "kernel/x/broken.ko: kernel/x/absent.ko\n";

static int index_of(char **plan, int n, const char *suffix) {
    for (int i = 0; i < n; i++) {
        size_t l = strlen(plan[i]), s = strlen(suffix);
        if (l >= s && !strcmp(plan[i] + l - s, suffix))
            return i;
    }
    return -1;
}

static void test_modules(void) {
    const char *names[] = MODULES_NEEDED;
    char *plan[MODULES_MAX_PLAN];
    const char *why = NULL;
    char what[256];
    int n = modules_plan(DEP, strlen(DEP), "", 0, names, MODULES_NEEDED_COUNT, plan, MODULES_MAX_PLAN, &why, what,
                         sizeof what);
    CHECK(n == 9, "9 modules planned, got %d (%s %s)", n, why ? why : "", n < 0 ? what : "");
    if (n == 9) {
        int ring = index_of(plan, n, "/virtio_ring.ko"), virtio = index_of(plan, n, "/virtio.ko");
        int mmio = index_of(plan, n, "/virtio_mmio.ko"), net = index_of(plan, n, "/virtio_net.ko");
        int fo = index_of(plan, n, "/failover.ko"), nfo = index_of(plan, n, "/net_failover.ko");
        int vs = index_of(plan, n, "/vsock.ko"), com = index_of(plan, n, "_common.ko");
        int tr = index_of(plan, n, "/vmw_vsock_virtio_transport.ko");
        CHECK(ring < virtio && virtio < mmio && fo < nfo && nfo < net && virtio < net && vs < com && com < tr &&
                  virtio < tr && ring >= 0,
              "dependencies first");
        modules_free_plan(plan, n);
    }
    /* Names match with '-' and '_' alike; a built-in module needs no file. */
    const char *dash[] = {"virtio-mmio", "cyc_x"};
    n = modules_plan(DEP, strlen(DEP), "kernel/x/cyc-x.ko\n", 18, dash, 2, plan, MODULES_MAX_PLAN, &why, what,
                     sizeof what);
    CHECK(n == 3 && index_of(plan, n, "/virtio_mmio.ko") == 2, "dash name and built-in: %d", n);
    if (n > 0)
        modules_free_plan(plan, n);
    const char *unknown[] = {"nosuch"};
    n = modules_plan(DEP, strlen(DEP), "", 0, unknown, 1, plan, MODULES_MAX_PLAN, &why, what, sizeof what);
    CHECK(n < 0 && !strcmp(what, "nosuch"), "unknown module refused");
    const char *cyc[] = {"cyc_a"};
    n = modules_plan(DEP, strlen(DEP), "", 0, cyc, 1, plan, MODULES_MAX_PLAN, &why, what, sizeof what);
    CHECK(n < 0 && strstr(why, "deep"), "cycle refused: %s", n < 0 ? why : "accepted");
    const char *broken[] = {"broken"};
    n = modules_plan(DEP, strlen(DEP), "", 0, broken, 1, plan, MODULES_MAX_PLAN, &why, what, sizeof what);
    CHECK(n < 0 && !strcmp(what, "kernel/x/absent.ko"), "missing dependency named: %s", n < 0 ? what : "accepted");
    n = modules_plan(DEP, strlen(DEP), "", 0, names, MODULES_NEEDED_COUNT, plan, 4, &why, what, sizeof what);
    CHECK(n < 0, "plan limit respected");
    /* Garbage: no colon, no newline at the end, only `len` bytes read. */
    const char junk[] = "no colon here\nkernel/a/virtio_mmio.ko";
    n = modules_plan(junk, sizeof junk - 1, "", 0, names, 1, plan, MODULES_MAX_PLAN, &why, what, sizeof what);
    CHECK(n < 0, "line without a colon is not a module");
    const char ok[] = "kernel/a/virtio_mmio.ko:";
    n = modules_plan(ok, sizeof ok - 1, "", 0, names, 1, plan, MODULES_MAX_PLAN, &why, what, sizeof what);
    CHECK(n == 1, "last line without newline");
    if (n > 0)
        modules_free_plan(plan, n);
}

/* ---------------- functions ---------------- */

static void test_invoke(void) {
    char *argv[EXEC_MAX_ARGS + 1];
    CHECK(invoke_exec_argv((const uint8_t *)"/bin/echo\0a\0b", 14, argv) == 3 && !strcmp(argv[2], "b") && !argv[3],
          "argv split");
    CHECK(invoke_exec_argv((const uint8_t *)"/bin/echo", 9, argv) < 0, "unterminated argv refused");
    CHECK(invoke_exec_argv((const uint8_t *)"", 0, argv) < 0, "empty argv refused");
    CHECK(invoke_exec_argv((const uint8_t *)"\0x", 3, argv) < 0, "empty argv[0] refused");
    uint8_t many[2 * (EXEC_MAX_ARGS + 1)];
    for (size_t i = 0; i < sizeof many; i += 2) {
        many[i] = 'a';
        many[i + 1] = 0;
    }
    CHECK(invoke_exec_argv(many, sizeof many - 2, argv) == EXEC_MAX_ARGS, "%d arguments taken", EXEC_MAX_ARGS);
    CHECK(invoke_exec_argv(many, sizeof many, argv) < 0, "too many arguments refused");

    struct identity_page pg = sample(5);
    struct identity_report rep;
    identity_build_report(&pg, 2, &rep);
    struct invoke_result r;
    CHECK(invoke_run("echo", 4, (const uint8_t *)"hello", 5, &rep, &r) == STATUS_OK && r.len == 5 &&
              !memcmp(r.data, "hello", 5),
          "echo");
    invoke_result_free(&r);
    uint8_t d[32];
    sha256("abc", 3, d);
    CHECK(invoke_run("sha256", 6, (const uint8_t *)"abc", 3, &rep, &r) == STATUS_OK && r.len == 32 &&
              !memcmp(r.data, d, 32),
          "sha256");
    CHECK(invoke_run("identity", 8, NULL, 0, &rep, &r) == STATUS_OK && r.len == sizeof rep &&
              !memcmp(r.data, &rep, sizeof rep),
          "identity");
    CHECK(invoke_run("ech", 3, NULL, 0, &rep, &r) == STATUS_UNKNOWN_FUNCTION, "unknown function");
    CHECK(invoke_run("echo2", 5, NULL, 0, &rep, &r) == STATUS_UNKNOWN_FUNCTION, "name compared whole");
    CHECK(invoke_run("exec", 4, (const uint8_t *)"x", 1, &rep, &r) == STATUS_BAD_ARGUMENT, "exec bad argument");

    static const char cmd[] = "/bin/sh\0-c\0echo out; echo err >&2; exit 3";
    uint32_t st = invoke_run("exec", 4, (const uint8_t *)cmd, sizeof cmd, &rep, &r);
    int32_t code = -1;
    if (st == STATUS_OK && r.len >= 4)
        memcpy(&code, r.data, 4);
    CHECK(st == STATUS_OK && code == 3 && r.len == 4 + 8 && !memcmp(r.data + 4, "out\nerr\n", 8),
          "exec: status %u code %d output '%.*s'", st, code, r.len > 4 ? (int)r.len - 4 : 0, r.len > 4 ? (const char *)r.data + 4 : "");
    invoke_result_free(&r);
    static const char missing[] = "/nonexistent/program";
    st = invoke_run("exec", 4, (const uint8_t *)missing, sizeof missing, &rep, &r);
    if (st == STATUS_OK && r.len >= 4)
        memcpy(&code, r.data, 4);
    CHECK(st == STATUS_OK && code == 127 && r.len > 4, "exec of a missing program: exit 127 with the reason");
    invoke_result_free(&r);
    static const char killed[] = "/bin/sh\0-c\0kill -9 $$";
    st = invoke_run("exec", 4, (const uint8_t *)killed, sizeof killed, &rep, &r);
    if (st == STATUS_OK && r.len >= 4)
        memcpy(&code, r.data, 4);
    CHECK(st == STATUS_OK && code == 128 + 9, "killed program: 128 + signal, got %d", code);
    invoke_result_free(&r);
}

/* ---------------- session (over a socketpair) ---------------- */

/* Sends `len` bytes to the agent's session, serving it whenever the socket buffer is full. */
static void feed(int host, struct session *s, const struct identity_report *rep, const uint8_t *p, size_t len) {
    while (len) {
        ssize_t w = send(host, p, len, MSG_DONTWAIT);
        if (w > 0) {
            p += w;
            len -= (size_t)w;
        }
        session_serve(s, rep);
    }
    int avail; /* each serve reads at most 64 KiB: serve until the agent's side is drained */
    while (s->fd >= 0 && ioctl(s->fd, FIONREAD, &avail) == 0 && avail > 0)
        session_serve(s, rep);
}

static uint32_t read_result(int host, uint64_t id, uint8_t *out, uint32_t *out_len) {
    struct frame_hdr h;
    uint32_t st = 0xFFFFFFFF;
    if (recv(host, &h, sizeof h, MSG_WAITALL) != sizeof h || h.type != FRAME_RESULT || h.request_id != id ||
        h.len < 4 || h.len > 4 + 4096)
        return st;
    recv(host, &st, 4, MSG_WAITALL);
    *out_len = h.len - 4;
    if (*out_len)
        recv(host, out, *out_len, MSG_WAITALL);
    return st;
}

static void test_session(void) {
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
    struct session s;
    CHECK(session_init(&s) == 0, "session init");
    s.fd = sv[0];
    struct identity_page pg = sample(9);
    struct identity_report rep;
    identity_build_report(&pg, 1, &rep);
    uint8_t out[4096 + 4];
    uint32_t n;

    /* Two INVOKEs in one write, answered in order. */
    uint8_t buf[64];
    size_t len = put_frame(buf, FRAME_INVOKE, 1, "\x04" "echoab", 7);
    len += put_frame(buf + len, FRAME_INVOKE, 2, "\x02" "no", 3);
    feed(sv[1], &s, &rep, buf, len);
    CHECK(read_result(sv[1], 1, out, &n) == STATUS_OK && n == 2 && !memcmp(out, "ab", 2), "echo over the session");
    CHECK(read_result(sv[1], 2, out, &n) == STATUS_UNKNOWN_FUNCTION && n == 0, "unknown function over the session");

    /* A name longer than the payload, and a frame that is not INVOKE (ignored: no answer). */
    len = put_frame(buf, FRAME_HELLO, 3, "x", 1);
    len += put_frame(buf + len, FRAME_INVOKE, 4, "\x09" "echo", 5);
    feed(sv[1], &s, &rep, buf, len);
    CHECK(read_result(sv[1], 4, out, &n) == STATUS_BAD_ARGUMENT, "name beyond the payload; HELLO from the host ignored");

    /* An oversized INVOKE is drained and answered with status 3; the next one still works. */
    static uint8_t big[16 + AGENT_MAX_PAYLOAD + 1];
    frames_encode_header(big, FRAME_INVOKE, 5, AGENT_MAX_PAYLOAD + 1);
    feed(sv[1], &s, &rep, big, sizeof big);
    CHECK(read_result(sv[1], 5, out, &n) == STATUS_TOO_LARGE && n == 0, "oversized INVOKE: status 3");
    len = put_frame(buf, FRAME_INVOKE, 6, "\x08" "identity", 9);
    feed(sv[1], &s, &rep, buf, len);
    CHECK(read_result(sv[1], 6, out, &n) == STATUS_OK && n == sizeof rep && !memcmp(out, &rep, sizeof rep),
          "identity after an oversized frame");

    /* The host closing the connection ends the session. */
    close(sv[1]);
    CHECK(session_serve(&s, &rep) < 0 && s.fd == -1, "EOF closes the session");
    frames_reader_free(&s.reader);
}

int main(void) {
    test_frames();
    test_cmdline();
    test_idpage_file();
    test_modules();
    test_invoke();
    test_session();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
