/* Host-side unit tests of the guest's network stack (netstack.c): checksums against RFC 1071's
 * example and an independent implementation, ARP and ICMP answers byte by byte, UDP in and out,
 * next-hop choice, and robustness: malformed and random frames (under ASan/UBSan) are dropped
 * without a read outside the frame and without an answer. Prints "N passed, M failed". */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netstack.h"

#include "check.h"


static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint32_t rnd(uint32_t n) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return n ? (uint32_t)(rng % n) : 0;
}

/* ---- the fake driver: frames the stack sends ---- */
static uint8_t sent[16][ETH_MAX_FRAME];
static uint32_t sent_len[16];
static int sent_count;

int stack_output(const uint8_t *frame, uint32_t len) {
    if (len > ETH_MAX_FRAME) {
        printf("FAIL stack_output: frame of %u bytes\n", len);
        failed++;
        return 0;
    }
    if (sent_count < 16) {
        memcpy(sent[sent_count], frame, len);
        sent_len[sent_count] = len;
    }
    sent_count++;
    return 1;
}

static const uint8_t MY_MAC[6] = {0x02, 0, 0, 0, 0x01, 0x02};
static const uint8_t MY_IP[4] = {198, 18, 1, 2};
static const uint8_t GW[4] = {198, 18, 1, 1};
static const uint8_t PEER_MAC[6] = {0x0a, 0x11, 0x22, 0x33, 0x44, 0x55};
static const uint8_t PEER_IP[4] = {198, 18, 1, 1};

static void configure(void) {
    struct net_config c;
    memcpy(c.mac, MY_MAC, 6);
    memcpy(c.ip, MY_IP, 4);
    c.prefix = 24;
    memcpy(c.gateway, GW, 4);
    stack_configure(&c);
    sent_count = 0;
}

/* An independent checksum: 32-bit accumulation of big-endian 16-bit words, folded at the end. */
static uint16_t ref_csum(const uint8_t *p, size_t n) {
    uint32_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += (i & 1) ? p[i] : (uint32_t)p[i] << 8;
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void put_be16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint32_t eth(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint16_t type) {
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    put_be16(f + 12, type);
    return ETH_HLEN;
}

/* An IPv4 packet from PEER to `dst` with a correct header checksum; returns the frame length. */
static uint32_t ipv4(uint8_t *f, const uint8_t *dst, uint8_t proto, const uint8_t *payload, uint32_t plen) {
    eth(f, MY_MAC, PEER_MAC, 0x0800);
    uint8_t *ip = f + ETH_HLEN;
    memset(ip, 0, 20);
    ip[0] = 0x45;
    put_be16(ip + 2, (uint16_t)(20 + plen));
    put_be16(ip + 4, 0x1234);
    ip[8] = 64;
    ip[9] = proto;
    memcpy(ip + 12, PEER_IP, 4);
    memcpy(ip + 16, dst, 4);
    put_be16(ip + 10, ref_csum(ip, 20));
    memcpy(ip + 20, payload, plen);
    return ETH_HLEN + 20 + plen;
}

static uint32_t echo_request(uint8_t *f, uint16_t id, uint16_t seq, uint32_t datalen) {
    uint8_t icmp[1500];
    icmp[0] = 8;
    icmp[1] = 0;
    put_be16(icmp + 2, 0);
    put_be16(icmp + 4, id);
    put_be16(icmp + 6, seq);
    for (uint32_t i = 0; i < datalen; i++)
        icmp[8 + i] = (uint8_t)(i * 3 + 1);
    put_be16(icmp + 2, ref_csum(icmp, 8 + datalen));
    return ipv4(f, MY_IP, 1, icmp, 8 + datalen);
}

static uint32_t arp(uint8_t *f, uint16_t op, const uint8_t *target_ip) {
    static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    eth(f, op == 1 ? bcast : MY_MAC, PEER_MAC, 0x0806);
    uint8_t *a = f + ETH_HLEN;
    put_be16(a, 1);
    put_be16(a + 2, 0x0800);
    a[4] = 6;
    a[5] = 4;
    put_be16(a + 6, op);
    memcpy(a + 8, PEER_MAC, 6);
    memcpy(a + 14, PEER_IP, 4);
    memset(a + 18, 0, 6);
    memcpy(a + 24, target_ip, 4);
    memset(a + 28, 0, 18); /* Ethernet padding to 60 */
    return 60;
}

/* ---- tests ---- */

static void test_checksum(void) {
    /* RFC 1071 / the classic example header: checksum 0xb861. */
    uint8_t h[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                     0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
    CHECK(inet_checksum(h, 20, 0) == 0xb861, "example header checksum %#x", inet_checksum(h, 20, 0));
    put_be16(h + 10, 0xb861);
    CHECK(inet_checksum(h, 20, 0) == 0, "a header with its checksum sums to 0");
    for (int i = 0; i < 2000; i++) {
        uint8_t buf[300];
        uint32_t n = rnd(sizeof buf);
        for (uint32_t j = 0; j < n; j++)
            buf[j] = (uint8_t)rnd(256);
        if (i % 7 == 0)
            memset(buf, 0xff, n); /* carries everywhere */
        CHECK(inet_checksum(buf, n, 0) == ref_csum(buf, n), "random %u bytes: %#x vs %#x", n,
              inet_checksum(buf, n, 0), ref_csum(buf, n));
    }
}

static void test_arp(void) {
    configure();
    uint8_t f[64], mac[6];
    CHECK(!stack_arp_lookup(PEER_IP, mac), "empty cache");
    uint32_t n = arp(f, 1, MY_IP);
    CHECK(stack_input(f, n) == IN_ARP_REPLIED, "ARP request for our IP is answered");
    CHECK(sent_count == 1 && sent_len[0] == 60, "one 60-byte reply (%d, %u)", sent_count, sent_len[0]);
    const uint8_t *r = sent[0], *a = sent[0] + 14;
    CHECK(!memcmp(r, PEER_MAC, 6) && !memcmp(r + 6, MY_MAC, 6) && be16(r + 12) == 0x0806, "reply Ethernet header");
    CHECK(be16(a) == 1 && be16(a + 2) == 0x0800 && a[4] == 6 && a[5] == 4 && be16(a + 6) == 2, "reply ARP fixed fields");
    CHECK(!memcmp(a + 8, MY_MAC, 6) && !memcmp(a + 14, MY_IP, 4), "reply says our MAC has our IP");
    CHECK(!memcmp(a + 18, PEER_MAC, 6) && !memcmp(a + 24, PEER_IP, 4), "reply goes to the asker");
    CHECK(stack_arp_lookup(PEER_IP, mac) && !memcmp(mac, PEER_MAC, 6), "asker learned");

    sent_count = 0;
    uint8_t other[4] = {198, 18, 1, 99};
    CHECK(stack_input(f, arp(f, 1, other)) == IN_IGNORED && sent_count == 0, "ARP for another IP: silence");

    configure();
    CHECK(stack_input(f, arp(f, 2, MY_IP)) == IN_ARP_LEARNED && sent_count == 0, "ARP reply learned, not answered");
    CHECK(stack_arp_lookup(PEER_IP, mac) && !memcmp(mac, PEER_MAC, 6), "reply cached");

    /* A new identity forgets the cache. */
    configure();
    CHECK(!stack_arp_lookup(PEER_IP, mac), "configure flushes the cache");

    /* Our request. */
    CHECK(stack_send_arp_request(PEER_IP) && sent_count == 1, "request sent");
    a = sent[0] + 14;
    CHECK(!memcmp(sent[0], "\xff\xff\xff\xff\xff\xff", 6) && be16(a + 6) == 1 && !memcmp(a + 24, PEER_IP, 4)
              && !memcmp(a + 14, MY_IP, 4) && !memcmp(a + 8, MY_MAC, 6), "request is a broadcast asking for the peer");

    /* Malformed ARP. */
    configure();
    n = arp(f, 1, MY_IP);
    f[14 + 4] = 8; /* hlen */
    CHECK(stack_input(f, n) == IN_DROPPED, "bad hardware length");
    n = arp(f, 1, MY_IP);
    CHECK(stack_input(f, 14 + 27) == IN_DROPPED, "truncated ARP");
    n = arp(f, 1, MY_IP);
    f[14 + 8] = 0x01; /* multicast sender MAC */
    CHECK(stack_input(f, n) == IN_DROPPED && !stack_arp_lookup(PEER_IP, mac), "multicast sender not cached");
    CHECK(sent_count == 0, "nothing answered to malformed ARP");

    /* The cache keeps ARP_CACHE_SIZE entries, replacing the oldest. */
    configure();
    for (int i = 0; i < ARP_CACHE_SIZE + 2; i++) {
        n = arp(f, 2, MY_IP);
        f[14 + 17] = (uint8_t)(10 + i);
        f[14 + 13] = (uint8_t)i;
        stack_input(f, n);
    }
    uint8_t last[4] = {198, 18, 1, (uint8_t)(10 + ARP_CACHE_SIZE + 1)}, first[4] = {198, 18, 1, 10};
    CHECK(stack_arp_lookup(last, mac) && mac[5] == ARP_CACHE_SIZE + 1, "newest entry kept");
    CHECK(!stack_arp_lookup(first, mac), "oldest entry replaced");
}

static void check_ipv4_out(const uint8_t *f, uint32_t len, uint8_t proto, const char *what) {
    const uint8_t *ip = f + 14;
    CHECK(len >= 34 && be16(f + 12) == 0x0800 && ip[0] == 0x45 && ip[9] == proto, "%s: IPv4 header", what);
    CHECK(ref_csum(ip, 20) == 0, "%s: IPv4 checksum", what);
    CHECK(!memcmp(ip + 12, MY_IP, 4), "%s: source is our IP", what);
    CHECK(14u + be16(ip + 2) <= len, "%s: total length within the frame", what);
}

static void test_icmp(void) {
    configure();
    uint8_t f[1600];
    for (uint32_t datalen = 0; datalen <= 1472; datalen += datalen < 64 ? 1 : 187) {
        sent_count = 0;
        uint32_t n = echo_request(f, 0x77, (uint16_t)datalen, datalen);
        CHECK(stack_input(f, n) == IN_ICMP_REPLIED && sent_count == 1, "echo %u answered", datalen);
        const uint8_t *r = sent[0], *ip = r + 14, *icmp = r + 34;
        check_ipv4_out(r, sent_len[0], 1, "echo reply");
        CHECK(!memcmp(r, PEER_MAC, 6) && !memcmp(r + 6, MY_MAC, 6), "reply goes back to the sender's MAC");
        CHECK(!memcmp(ip + 16, PEER_IP, 4), "reply to the sender's IP");
        CHECK(be16(ip + 2) == 20 + 8 + datalen, "reply length %u", be16(ip + 2));
        CHECK(icmp[0] == 0 && icmp[1] == 0 && be16(icmp + 4) == 0x77 && be16(icmp + 6) == datalen, "echo reply id/seq");
        CHECK(ref_csum(icmp, 8 + datalen) == 0, "ICMP checksum of %u data bytes", datalen);
        CHECK(!memcmp(icmp + 8, f + 42, datalen), "data echoed");
        CHECK(sent_len[0] >= 60, "padded to the Ethernet minimum");
    }

    /* Malformed and foreign echo requests: no answer. */
    uint32_t n;
    sent_count = 0;
    n = echo_request(f, 1, 1, 32);
    f[42] ^= 0xff;
    CHECK(stack_input(f, n) == IN_DROPPED, "bad ICMP checksum");
    n = echo_request(f, 1, 1, 32);
    f[14 + 10] ^= 1;
    CHECK(stack_input(f, n) == IN_DROPPED, "bad IP checksum");
    n = echo_request(f, 1, 1, 32);
    CHECK(stack_input(f, n - 1) == IN_DROPPED, "IP total length beyond the frame");
    n = echo_request(f, 1, 1, 32);
    f[14] = 0x44; /* IHL 4 */
    CHECK(stack_input(f, n) == IN_DROPPED, "IHL < 5");
    n = echo_request(f, 1, 1, 32);
    f[14] = 0x65;
    CHECK(stack_input(f, n) == IN_DROPPED, "IPv6 version nibble in an IPv4 frame");
    n = echo_request(f, 1, 1, 32);
    f[14 + 6] = 0x20; /* MF */
    put_be16(f + 24, 0);
    put_be16(f + 24, ref_csum(f + 14, 20));
    CHECK(stack_input(f, n) == IN_IGNORED, "fragment ignored");
    uint8_t other[4] = {198, 18, 1, 3};
    n = ipv4(f, other, 1, (const uint8_t *)"\x08\x00\xf7\xff\x00\x00\x00\x00", 8);
    CHECK(stack_input(f, n) == IN_IGNORED, "echo for another IP ignored");
    n = echo_request(f, 1, 1, 32);
    f[0] = 0x04; /* another unicast MAC */
    CHECK(stack_input(f, n) == IN_IGNORED, "frame for another MAC ignored");
    CHECK(sent_count == 0, "none of these got an answer (%d)", sent_count);

    /* Ethernet padding after the IP packet is fine. */
    n = echo_request(f, 9, 9, 0);
    memset(f + n, 0xee, 60 - n);
    CHECK(stack_input(f, 60) == IN_ICMP_REPLIED, "padded minimum frame answered");

    /* Our echo request and the reply to it. */
    configure();
    uint8_t data[56] = {0};
    CHECK(stack_send_echo(PEER_MAC, PEER_IP, 0x4801, 3, data, sizeof data) && sent_count == 1, "echo sent");
    check_ipv4_out(sent[0], sent_len[0], 1, "echo request");
    CHECK(sent[0][34] == 8 && ref_csum(sent[0] + 34, 64) == 0, "echo request type and checksum");
    stack_expect_echo(0x4801, 3);
    uint8_t icmp[64];
    memcpy(icmp, sent[0] + 34, 64);
    icmp[0] = 0;
    put_be16(icmp + 2, 0);
    put_be16(icmp + 2, ref_csum(icmp, 64));
    icmp[7] = 4; /* wrong sequence */
    put_be16(icmp + 2, 0);
    put_be16(icmp + 2, ref_csum(icmp, 64));
    CHECK(stack_input(f, ipv4(f, MY_IP, 1, icmp, 64)) == IN_ECHO_REPLY && !stack_echo_seen(), "other seq not counted");
    icmp[7] = 3;
    put_be16(icmp + 2, 0);
    put_be16(icmp + 2, ref_csum(icmp, 64));
    CHECK(stack_input(f, ipv4(f, MY_IP, 1, icmp, 64)) == IN_ECHO_REPLY && stack_echo_seen(), "matching reply seen");
}

static uint32_t udp_frame(uint8_t *f, uint16_t sport, uint16_t dport, const char *text, int checksum) {
    uint8_t u[1500];
    uint32_t n = (uint32_t)strlen(text);
    put_be16(u, sport);
    put_be16(u + 2, dport);
    put_be16(u + 4, (uint16_t)(8 + n));
    put_be16(u + 6, 0);
    memcpy(u + 8, text, n);
    if (checksum) {
        uint8_t pseudo[12 + 1500];
        memcpy(pseudo, PEER_IP, 4);
        memcpy(pseudo + 4, MY_IP, 4);
        pseudo[8] = 0;
        pseudo[9] = 17;
        put_be16(pseudo + 10, (uint16_t)(8 + n));
        memcpy(pseudo + 12, u, 8 + n);
        uint16_t c = ref_csum(pseudo, 12 + 8 + n);
        put_be16(u + 6, c ? c : 0xffff);
    }
    return ipv4(f, MY_IP, 17, u, 8 + n);
}

static void test_udp(void) {
    configure();
    uint8_t f[1600];
    const uint8_t *data;
    uint32_t len;
    CHECK(stack_send_udp(PEER_MAC, PEER_IP, 40000, 7777, (const uint8_t *)"hello", 5) && sent_count == 1, "udp sent");
    check_ipv4_out(sent[0], sent_len[0], 17, "udp");
    const uint8_t *u = sent[0] + 34;
    CHECK(be16(u) == 40000 && be16(u + 2) == 7777 && be16(u + 4) == 13 && !memcmp(u + 8, "hello", 5), "udp header");
    uint8_t pseudo[12 + 13];
    memcpy(pseudo, MY_IP, 4);
    memcpy(pseudo + 4, PEER_IP, 4);
    pseudo[8] = 0;
    pseudo[9] = 17;
    put_be16(pseudo + 10, 13);
    memcpy(pseudo + 12, u, 13);
    CHECK(ref_csum(pseudo, sizeof pseudo) == 0, "udp checksum with the pseudo-header");
    CHECK(stack_build_udp(f, PEER_MAC, PEER_IP, 1, 2, f, UDP_MAX_PAYLOAD + 1) == 0, "oversized payload refused");
    CHECK(stack_build_udp(f, PEER_MAC, PEER_IP, 1, 2, f + 100, UDP_MAX_PAYLOAD) == ETH_MAX_FRAME, "largest payload fills 1514");

    stack_udp_bind(40000, PEER_IP, 7777);
    CHECK(stack_input(f, udp_frame(f, 7777, 40000, "pong", 1)) == IN_UDP, "reply delivered");
    CHECK(stack_udp_take(&data, &len) && len == 4 && !memcmp(data, "pong", 4), "inbox has it");
    CHECK(!stack_udp_take(&data, &len), "taken once");
    CHECK(stack_input(f, udp_frame(f, 7777, 40000, "no checksum", 0)) == IN_UDP, "checksum 0 accepted");
    stack_udp_take(&data, &len);
    CHECK(stack_input(f, udp_frame(f, 7777, 40001, "x", 1)) == IN_IGNORED, "other port ignored");
    CHECK(stack_input(f, udp_frame(f, 7778, 40000, "x", 1)) == IN_IGNORED, "other source port ignored");
    uint32_t n = udp_frame(f, 7777, 40000, "corrupt", 1);
    f[42] ^= 0x40;
    CHECK(stack_input(f, n) == IN_DROPPED, "bad UDP checksum");
    n = udp_frame(f, 7777, 40000, "long", 1);
    put_be16(f + 38, 200);
    CHECK(stack_input(f, n) == IN_DROPPED, "UDP length beyond the IP payload");
    n = udp_frame(f, 7777, 40000, "short", 1);
    put_be16(f + 38, 7);
    CHECK(stack_input(f, n) == IN_DROPPED, "UDP length below its header");
    CHECK(!stack_udp_take(&data, &len), "nothing bad reached the inbox");
    CHECK(sent_count == 1, "UDP input is never answered");
}

static void test_next_hop(void) {
    configure();
    uint8_t hop[4];
    uint8_t near[4] = {198, 18, 1, 200}, far[4] = {198, 19, 0, 1};
    stack_next_hop(near, hop);
    CHECK(!memcmp(hop, near, 4), "on-link: direct");
    stack_next_hop(far, hop);
    CHECK(!memcmp(hop, GW, 4), "off-link: the gateway");
    struct net_config c = *stack_config();
    c.prefix = 15;
    stack_configure(&c);
    stack_next_hop(far, hop);
    CHECK(!memcmp(hop, far, 4), "/15 covers 198.19");
    c.prefix = 0;
    stack_configure(&c);
    stack_next_hop(far, hop);
    CHECK(!memcmp(hop, far, 4), "/0: everything on-link");
    c.prefix = 200;
    stack_configure(&c);
    CHECK(stack_config()->prefix == 32, "prefix clamped to 32");
    stack_next_hop(near, hop);
    CHECK(!memcmp(hop, GW, 4), "/32: only ourselves on-link");
}

/* Random and mutated frames: the stack must never read outside them (ASan) and every frame it
 * sends in answer must be well-formed. */
static void test_fuzz(void) {
    configure();
    static uint8_t f[2048];
    uint8_t good[1600];
    uint32_t good_len[4];
    static uint8_t goods[4][1600];
    good_len[0] = echo_request(goods[0], 5, 5, 100);
    good_len[1] = arp(goods[1], 1, MY_IP);
    good_len[2] = udp_frame(goods[2], 7777, 40000, "fuzz me", 1);
    good_len[3] = echo_request(goods[3], 6, 6, 0);
    stack_udp_bind(40000, PEER_IP, 7777);
    int bad_answers = 0;
    for (int i = 0; i < 300000; i++) {
        uint32_t n;
        if (i % 3 == 0) {
            n = rnd(1600);
            for (uint32_t j = 0; j < n; j++)
                f[j] = (uint8_t)rnd(256);
            if (n >= 14 && rnd(2)) {
                memcpy(f, MY_MAC, 6);
                put_be16(f + 12, rnd(2) ? 0x0800 : 0x0806);
            }
        } else {
            int k = (int)rnd(4);
            n = good_len[k];
            memcpy(f, goods[k], n);
            for (int m = (int)rnd(4) + 1; m > 0; m--)
                f[rnd(n)] = (uint8_t)rnd(256);
            if (rnd(4) == 0)
                n = rnd(n + 1);
        }
        /* A copy exactly n bytes long, so ASan sees any read past the end. */
        uint8_t *exact = malloc(n ? n : 1);
        memcpy(exact, f, n);
        sent_count = 0;
        stack_input(exact, n);
        free(exact);
        for (int s = 0; s < sent_count && s < 16; s++) {
            const uint8_t *r = sent[s];
            if (sent_len[s] < 60 || sent_len[s] > ETH_MAX_FRAME || memcmp(r + 6, MY_MAC, 6))
                bad_answers++;
            else if (be16(r + 12) == 0x0800 && (ref_csum(r + 14, 20) != 0 || ref_csum(r + 34, be16(r + 16) - 20) != 0))
                bad_answers++;
        }
    }
    (void)good;
    CHECK(bad_answers == 0, "%d malformed answers to fuzzed frames", bad_answers);
    CHECK(stack_stats()->dropped > 0 && stack_stats()->frames >= 300000, "fuzzing reached the drop paths");
}

int main(void) {
    test_checksum();
    test_arp();
    test_icmp();
    test_udp();
    test_next_hop();
    test_fuzz();
    printf("net-tests: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
