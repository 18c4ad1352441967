/* Host-side unit tests: SHA-256 vectors, the identity report, agent frame reassembly across
 * arbitrary packet boundaries, and the built-in functions. A fake vsock stream stands in for
 * the device. Prints "N passed, M failed"; exit status 1 if anything failed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "abi.h"
#include "agent.h"
#include "functions.h"
#include "identity.h"
#include "sha256.h"
#include "vsock.h"

#include "check.h"


static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(uint32_t n) { /* 0..n-1 */
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return n ? (uint32_t)(rng % n) : 0;
}

static void hex(const uint8_t *d, size_t n, char *out) {
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

/* ---------------- SHA-256 ---------------- */

static void sha_vector(const char *msg, const char *want) {
    uint8_t d[32];
    char h[65];
    sha256(msg, strlen(msg), d);
    hex(d, 32, h);
    CHECK(!strcmp(h, want), "sha256(\"%.20s...\") = %s, want %s", msg, h, want);
}

static void test_sha256(void) {
    sha_vector("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    sha_vector("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sha_vector("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
               "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    sha_vector("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
               "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");

    /* One million 'a' (FIPS 180-4 example). */
    static uint8_t buf[1 << 20];
    memset(buf, 'a', 1000000);
    uint8_t d[32];
    char h[65];
    sha256(buf, 1000000, d);
    hex(d, 32, h);
    CHECK(!strcmp(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"), "million a: %s", h);

    /* 1 MiB of a pattern, against the system's sha256sum. */
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 7 + (i >> 8) + (i >> 16));
    sha256(buf, sizeof buf, d);
    hex(d, 32, h);
    char path[] = "/tmp/guest-sha-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "wb");
    fwrite(buf, 1, sizeof buf, f);
    fclose(f);
    char cmd[128], line[128] = "";
    snprintf(cmd, sizeof cmd, "sha256sum %s", path);
    FILE *p = popen(cmd, "r");
    if (p) {
        if (!fgets(line, sizeof line, p))
            line[0] = 0;
        pclose(p);
    }
    unlink(path);
    CHECK(!strncmp(line, h, 64), "1 MiB pattern: %s, sha256sum says %.64s", h, line);

    /* Incremental updates with random split points give the same digest. */
    for (int round = 0; round < 50; round++) {
        size_t len = rnd(5000), off = 0;
        struct sha256 s;
        uint8_t d2[32];
        sha256_init(&s);
        while (off < len) {
            size_t n = 1 + rnd((uint32_t)(len - off));
            sha256_update(&s, buf + off, n);
            off += n;
        }
        sha256_final(&s, d2);
        sha256(buf, len, d);
        CHECK(!memcmp(d, d2, 32), "incremental sha256, len %zu", len);
    }
}

/* ---------------- identity ---------------- */

static struct identity_page sample_page(uint64_t generation) {
    struct identity_page pg;
    memset(&pg, 0, sizeof pg);
    pg.magic = IDENTITY_MAGIC;
    pg.version = IDENTITY_VERSION;
    pg.size = IDENTITY_SIZE;
    pg.generation = generation;
    memcpy(pg.mac, "\x02\x00\x00\xab\xcd\xef", 6);
    memcpy(pg.ipv4, "\x0a\x00\x00\x02", 4);
    pg.prefix_len = 24;
    memcpy(pg.gateway, "\x0a\x00\x00\x01", 4);
    strcpy(pg.hostname, "sandbox-1");
    strcpy(pg.sandbox_id, "sb-0001");
    strcpy(pg.tenant_id, "tenant-a");
    for (int i = 0; i < 32; i++)
        pg.seed[i] = (uint8_t)(i * 31 + generation);
    pg.wall_clock_ns = 1700000000123456789ull;
    return pg;
}

static void test_identity(void) {
    struct identity_page pg = sample_page(7), copy;
    CHECK(identity_generation(&pg) == 7, "generation");
    CHECK(identity_read(&pg, &copy) == NULL, "valid page accepted");
    CHECK(!memcmp(&pg, &copy, sizeof pg), "page copied");

    struct identity_report r;
    identity_build_report(&copy, 3, &r);
    uint8_t seed_hash[32];
    sha256(pg.seed, 32, seed_hash);
    CHECK(!memcmp(&r.page, &pg, 0xE8), "report bytes 0..0xE7 as read");
    CHECK(!memcmp(r.page.seed, seed_hash, 32), "report seed is SHA-256(seed)");
    CHECK(r.page.wall_clock_ns == pg.wall_clock_ns, "report wall clock");
    CHECK(r.agent_version == 1 && r.identities_seen == 3, "report version and count");
    CHECK(sizeof r == 0x118, "report size");

    struct identity_page bad = pg;
    bad.magic = 0;
    CHECK(identity_generation(&bad) == 0, "no magic -> generation 0");
    CHECK(identity_read(&bad, &copy) != NULL, "bad magic rejected");
    bad = pg;
    bad.version = 2;
    CHECK(identity_read(&bad, &copy) != NULL, "bad version rejected");
    bad = pg;
    bad.size = 0x100;
    CHECK(identity_read(&bad, &copy) != NULL, "bad size rejected");
    bad = pg;
    memset(bad.hostname, 'x', sizeof bad.hostname);
    CHECK(identity_read(&bad, &copy) != NULL, "unterminated hostname rejected");
}

/* ---------------- fake vsock stream ---------------- */

static uint8_t *in_data;
static size_t in_len, in_delivered, in_consumed;
static uint8_t *out_data;
static size_t out_len, out_cap;
static int fake_established = 1;
static uint32_t fake_serial = 1;
static uint8_t tx_slot[VSOCK_MAX_PAYLOAD];
static int tx_open;
static int tx_block_percent; /* how often reserve fails (no credit) */
static uint32_t tx_max_cap = VSOCK_MAX_PAYLOAD;

int vsock_established(void) { return fake_established; }
uint32_t vsock_conn_serial(void) { return fake_serial; }

uint32_t vsock_rx_peek(const uint8_t **p) {
    *p = in_data + in_consumed;
    return (uint32_t)(in_delivered - in_consumed);
}

void vsock_rx_consume(uint32_t n) {
    if (in_consumed + n > in_delivered) {
        printf("FAIL: consumed beyond delivered\n");
        failed++;
    }
    in_consumed += n;
}

uint8_t *vsock_tx_reserve(uint32_t *cap) {
    if (tx_open) {
        printf("FAIL: reserve without commit\n");
        failed++;
    }
    if ((int)rnd(100) < tx_block_percent)
        return NULL;
    tx_open = 1;
    *cap = 1 + rnd(tx_max_cap);
    memset(tx_slot, 0xEE, *cap);
    return tx_slot;
}

void vsock_tx_commit(uint32_t len) {
    tx_open = 0;
    if (out_len + len > out_cap) {
        out_cap = (out_len + len) * 2;
        out_data = realloc(out_data, out_cap);
    }
    memcpy(out_data + out_len, tx_slot, len);
    out_len += len;
}

static void stream_reset(void) {
    free(in_data);
    in_data = NULL;
    in_len = in_delivered = in_consumed = 0;
    out_len = 0;
}

static void in_append(const void *p, size_t n) {
    in_data = realloc(in_data, in_len + n);
    memcpy(in_data + in_len, p, n);
    in_len += n;
}

static void in_frame(uint16_t type, uint64_t id, const void *payload, uint32_t len) {
    struct frame_hdr h = {.len = len, .type = type, .flags = 0, .request_id = id};
    in_append(&h, sizeof h);
    if (len)
        in_append(payload, len);
}

static void in_invoke(uint64_t id, const char *name, const void *arg, uint32_t arg_len) {
    size_t nl = strlen(name);
    uint8_t *p = malloc(1 + nl + arg_len + 1);
    p[0] = (uint8_t)nl;
    memcpy(p + 1, name, nl);
    if (arg_len)
        memcpy(p + 1 + nl, arg, arg_len);
    in_frame(FRAME_INVOKE, id, p, (uint32_t)(1 + nl + arg_len));
    free(p);
}

/* Deliver the input in random chunks (max_chunk 1: byte by byte), polling the agent between. */
static void run_agent(uint32_t max_chunk) {
    int idle = 0;
    while (idle < 1000) {
        if (in_delivered < in_len && rnd(3)) {
            size_t n = 1 + rnd(max_chunk);
            if (n > in_len - in_delivered)
                n = in_len - in_delivered;
            in_delivered += n;
        }
        int busy = agent_poll();
        idle = (busy || in_delivered < in_len) ? 0 : idle + 1;
    }
}

/* Output frame parser. */
static size_t out_pos;
static int next_out(struct frame_hdr *h, const uint8_t **payload) {
    if (out_pos + sizeof *h > out_len)
        return 0;
    memcpy(h, out_data + out_pos, sizeof *h);
    if (out_pos + sizeof *h + h->len > out_len)
        return 0;
    *payload = out_data + out_pos + sizeof *h;
    out_pos += sizeof *h + h->len;
    return 1;
}

static int expect_result(uint64_t id, uint32_t status, const void *data, uint32_t len, const char *what) {
    struct frame_hdr h;
    const uint8_t *p;
    if (!next_out(&h, &p)) {
        CHECK(0, "%s: no RESULT frame", what);
        return 0;
    }
    uint32_t st;
    memcpy(&st, p, 4);
    int ok = h.type == FRAME_RESULT && h.request_id == id && h.len == 4 + len && st == status &&
             (!data || !memcmp(p + 4, data, len));
    CHECK(ok, "%s: got type %u id %llu len %u status %u, want id %llu len %u status %u", what, h.type,
          (unsigned long long)h.request_id, h.len, st, (unsigned long long)id, 4 + len, status);
    return ok;
}

static struct identity_report agent_report;
static uint8_t heap[4 << 20] __attribute__((aligned(4096)));

static void test_agent_session(uint32_t max_chunk, int block_percent, uint32_t max_cap) {
    stream_reset();
    out_pos = 0;
    tx_block_percent = block_percent;
    tx_max_cap = max_cap;
    fake_serial++; /* a new connection: the agent starts with HELLO */

    static uint8_t big[AGENT_MAX_PAYLOAD];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)rnd(256);
    uint32_t sizes[] = {0, 1, 15, 16, 17, 4095, 65536 - 21, 65536, 65537, 200000};
    uint64_t id = 100;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        in_invoke(id++, "echo", big, sizes[i]);
    in_invoke(id++, "sha256", "abc", 3);
    in_invoke(id++, "nope", "x", 1);
    in_invoke(id++, "identity", NULL, 0);
    uint32_t mib = 2;
    in_invoke(id++, "touch", &mib, 4);
    mib = 5; /* more than the 4 MiB heap */
    in_invoke(id++, "touch", &mib, 4);
    uint32_t ms = 1;
    in_invoke(id++, "spin", &ms, 4);
    ms = 60001;
    in_invoke(id++, "spin", &ms, 4);
    in_invoke(id++, "spin", &ms, 2);
    in_frame(FRAME_INVOKE, id++, "\x09" "echo", 5); /* name length beyond the payload */
    in_frame(FRAME_INVOKE, id++, NULL, 0);            /* empty payload */
    in_frame(FRAME_HELLO, 0, "ignored", 7);           /* not for the guest: ignored, no answer */
    /* Largest allowed frame: name + argument = exactly 1 MiB of payload. */
    in_invoke(id++, "echo", big, AGENT_MAX_PAYLOAD - 5);
    /* Oversized: drained and answered with status 3. */
    uint32_t over = AGENT_MAX_PAYLOAD + 1;
    uint8_t *ov = calloc(1, over);
    ov[0] = 4;
    memcpy(ov + 1, "echo", 4);
    in_frame(FRAME_INVOKE, id++, ov, over);
    free(ov);
    in_invoke(id++, "echo", "after", 5); /* the stream is still in sync */

    run_agent(max_chunk);

    CHECK(in_consumed == in_len, "all input consumed (%zu of %zu)", in_consumed, in_len);
    struct frame_hdr h;
    const uint8_t *p;
    CHECK(next_out(&h, &p) && h.type == FRAME_HELLO && h.request_id == 0 && h.len == sizeof agent_report &&
              !memcmp(p, &agent_report, sizeof agent_report),
          "HELLO first, with the identity report");

    id = 100;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        expect_result(id++, STATUS_OK, big, sizes[i], "echo");
    uint8_t abc[32];
    sha256("abc", 3, abc);
    expect_result(id++, STATUS_OK, abc, 32, "sha256");
    expect_result(id++, STATUS_UNKNOWN_FUNCTION, NULL, 0, "unknown function");
    expect_result(id++, STATUS_OK, &agent_report, sizeof agent_report, "identity");
    uint64_t pages = 512;
    expect_result(id++, STATUS_OK, &pages, 8, "touch 2 MiB");
    CHECK(heap[0] != 0 && heap[0] == heap[(2 << 20) - 1] && heap[2 << 20] == 0, "touch wrote exactly 2 MiB");
    expect_result(id++, STATUS_BAD_ARGUMENT, NULL, 0, "touch beyond heap");
    {
        struct frame_hdr sh;
        const uint8_t *sp;
        size_t save = out_pos;
        if (next_out(&sh, &sp)) {
            uint64_t ticks;
            memcpy(&ticks, sp + 4, 8);
            CHECK(sh.request_id == id && sh.len == 12 && ticks >= 1000ull * 1000, "spin 1 ms: %llu ticks",
                  (unsigned long long)ticks);
        } else {
            CHECK(0, "spin: no result");
            out_pos = save;
        }
        id++;
    }
    expect_result(id++, STATUS_BAD_ARGUMENT, NULL, 0, "spin > 60000 ms");
    expect_result(id++, STATUS_BAD_ARGUMENT, NULL, 0, "spin short argument");
    expect_result(id++, STATUS_BAD_ARGUMENT, NULL, 0, "name length beyond payload");
    expect_result(id++, STATUS_BAD_ARGUMENT, NULL, 0, "empty INVOKE");
    expect_result(id++, STATUS_OK, big, AGENT_MAX_PAYLOAD - 5, "1 MiB frame");
    expect_result(id++, STATUS_TOO_LARGE, NULL, 0, "oversized frame");
    expect_result(id++, STATUS_OK, "after", 5, "echo after oversized");
    CHECK(out_pos == out_len, "no extra output (%zu of %zu)", out_pos, out_len);
}

static void test_parser_direct(void) {
    /* Two frames in one buffer: the parser stops at the end of the first. */
    agent_parser_reset();
    stream_reset();
    in_frame(FRAME_INVOKE, 1, "\x04" "echoAB", 7);
    in_frame(FRAME_INVOKE, 2, "\x04" "echo", 5);
    size_t used = agent_parse(in_data, in_len);
    const struct agent_frame *f = agent_frame_ready();
    CHECK(used == 16 + 7 && f && f->hdr.request_id == 1 && f->hdr.len == 7 && !memcmp(f->payload, "\x04" "echoAB", 7),
          "first of two frames");
    CHECK(agent_parse(in_data + used, in_len - used) == 0, "no progress until the frame is taken");
    agent_frame_done();
    used += agent_parse(in_data + used, in_len - used);
    f = agent_frame_ready();
    CHECK(used == in_len && f && f->hdr.request_id == 2, "second frame");
    agent_frame_done();

    /* Byte by byte. */
    for (size_t i = 0; i < in_len; i++) {
        CHECK(agent_parse(in_data + i, 1) == 1, "byte %zu consumed", i);
        if (agent_frame_ready())
            agent_frame_done();
    }
    CHECK(agent_frame_ready() == NULL, "parser idle after whole frames");
}

static void test_hello_on_reconnect(void) {
    stream_reset();
    out_pos = 0;
    tx_block_percent = 0;
    agent_poll();
    CHECK(out_len == 0, "no second HELLO on the same connection");
    fake_established = 0;
    fake_serial++;
    CHECK(agent_poll() == 0 && out_len == 0, "nothing while not connected");
    fake_established = 1;
    agent_report.identities_seen = 9;
    agent_poll();
    struct frame_hdr h;
    const uint8_t *p;
    CHECK(next_out(&h, &p) && h.type == FRAME_HELLO &&
              ((const struct identity_report *)p)->identities_seen == 9,
          "HELLO again on a new connection, with the current report");
}

int main(void) {
    test_sha256();
    test_identity();

    struct identity_page pg = sample_page(42);
    identity_build_report(&pg, 1, &agent_report);
    struct boot_info bi = {.magic = BOOT_INFO_MAGIC, .version = 1, .size = BOOT_INFO_SIZE,
                           .ram_size = (uintptr_t)heap + sizeof heap, .tsc_khz = 1000000,
                           .heap_start = (uintptr_t)heap};
    functions_init(&bi, &agent_report);
    agent_init(&agent_report);

    test_parser_direct();
    test_agent_session(1 << 17, 0, VSOCK_MAX_PAYLOAD); /* large chunks */
    test_agent_session(7, 30, 13);                     /* small chunks, blocked sends, tiny packets */
    test_agent_session(4096, 50, VSOCK_MAX_PAYLOAD);
    test_hello_on_reconnect();

    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
