#include "netstack.h"

#include "lib.h"

static const uint8_t BROADCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static struct net_config cfg;
static struct stack_stats stats;
static struct {
    uint8_t ip[4];
    uint8_t mac[6];
    uint8_t valid;
} arp[ARP_CACHE_SIZE];
static uint32_t arp_next;
static uint16_t ip_id;
static struct {
    uint16_t id, seq;
    int armed, seen;
} echo;
static struct {
    uint16_t port, from_port;
    uint8_t from[4];
    int full;
    uint32_t len;
    uint8_t data[UDP_MAX_PAYLOAD];
} inbox;
static uint8_t out[ETH_MAX_FRAME];

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void put16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

uint16_t inet_checksum(const void *data, uint32_t len, uint32_t sum) {
    const uint8_t *p = data;
    uint64_t s = sum;
    for (uint32_t i = 0; i + 1 < len; i += 2)
        s += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (len & 1)
        s += (uint32_t)p[len - 1] << 8;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

/* The pseudo-header sum of UDP (RFC 768), not yet folded. */
static uint32_t pseudo_sum(const uint8_t src[4], const uint8_t dst[4], uint8_t proto, uint16_t len) {
    return (uint32_t)get16(src) + get16(src + 2) + get16(dst) + get16(dst + 2) + proto + len;
}

void stack_configure(const struct net_config *c) {
    cfg = *c;
    if (cfg.prefix > 32)
        cfg.prefix = 32;
    memset(arp, 0, sizeof arp);
    arp_next = 0;
    memset(&echo, 0, sizeof echo);
    inbox.port = 0;
    inbox.full = 0;
}

const struct net_config *stack_config(void) { return &cfg; }
const struct stack_stats *stack_stats(void) { return &stats; }

static int on_link(const uint8_t ip[4]) {
    uint32_t a = (uint32_t)ip[0] << 24 | ip[1] << 16 | ip[2] << 8 | ip[3];
    uint32_t b = (uint32_t)cfg.ip[0] << 24 | cfg.ip[1] << 16 | cfg.ip[2] << 8 | cfg.ip[3];
    uint32_t mask = cfg.prefix == 0 ? 0 : 0xffffffffu << (32 - cfg.prefix);
    return (a & mask) == (b & mask);
}

void stack_next_hop(const uint8_t dst[4], uint8_t hop[4]) { memcpy(hop, on_link(dst) ? dst : cfg.gateway, 4); }

int stack_arp_lookup(const uint8_t ip[4], uint8_t mac[6]) {
    for (int i = 0; i < ARP_CACHE_SIZE; i++) {
        if (arp[i].valid && !memcmp(arp[i].ip, ip, 4)) {
            memcpy(mac, arp[i].mac, 6);
            return 1;
        }
    }
    return 0;
}

static void arp_learn(const uint8_t ip[4], const uint8_t mac[6]) {
    int slot = -1;
    for (int i = 0; i < ARP_CACHE_SIZE; i++)
        if (arp[i].valid && !memcmp(arp[i].ip, ip, 4))
            slot = i;
    if (slot < 0)
        slot = (int)(arp_next++ % ARP_CACHE_SIZE);
    memcpy(arp[slot].ip, ip, 4);
    memcpy(arp[slot].mac, mac, 6);
    arp[slot].valid = 1;
}

static void eth_header(uint8_t *f, const uint8_t dst[6], uint16_t type) {
    memcpy(f, dst, 6);
    memcpy(f + 6, cfg.mac, 6);
    put16(f + 12, type);
}

/* ARP for Ethernet/IPv4 (RFC 826): 28 bytes after the Ethernet header. */
static int send_arp(uint16_t op, const uint8_t dst_mac[6], const uint8_t target_mac[6], const uint8_t target_ip[4]) {
    uint8_t *f = out;
    eth_header(f, dst_mac, ETH_TYPE_ARP);
    uint8_t *a = f + ETH_HLEN;
    put16(a, 1);
    put16(a + 2, ETH_TYPE_IPV4);
    a[4] = 6;
    a[5] = 4;
    put16(a + 6, op);
    memcpy(a + 8, cfg.mac, 6);
    memcpy(a + 14, cfg.ip, 4);
    memcpy(a + 18, target_mac, 6);
    memcpy(a + 24, target_ip, 4);
    return stack_output(f, 60); /* padded to the Ethernet minimum */
}

int stack_send_arp_request(const uint8_t ip[4]) {
    static const uint8_t zero[6];
    memset(out, 0, 60);
    return send_arp(1, BROADCAST, zero, ip);
}

/* IPv4 header (no options, DF) in f + ETH_HLEN for `payload` bytes; returns the header pointer. */
static uint8_t *ipv4_header(uint8_t *f, const uint8_t dst[4], uint8_t proto, uint32_t payload) {
    uint8_t *ip = f + ETH_HLEN;
    ip[0] = 0x45;
    ip[1] = 0;
    put16(ip + 2, (uint16_t)(IPV4_HLEN + payload));
    put16(ip + 4, ip_id++);
    put16(ip + 6, 0x4000);
    ip[8] = 64;
    ip[9] = proto;
    put16(ip + 10, 0);
    memcpy(ip + 12, cfg.ip, 4);
    memcpy(ip + 16, dst, 4);
    put16(ip + 10, inet_checksum(ip, IPV4_HLEN, 0));
    return ip;
}

static int send_icmp(const uint8_t mac[6], const uint8_t ip[4], uint8_t type, uint16_t id, uint16_t seq,
                     const uint8_t *data, uint32_t len) {
    if (len > ETH_MAX_FRAME - ETH_HLEN - IPV4_HLEN - ICMP_HLEN)
        return 0;
    uint8_t *f = out;
    eth_header(f, mac, ETH_TYPE_IPV4);
    ipv4_header(f, ip, 1, ICMP_HLEN + len);
    uint8_t *icmp = f + ETH_HLEN + IPV4_HLEN;
    icmp[0] = type;
    icmp[1] = 0;
    put16(icmp + 2, 0);
    put16(icmp + 4, id);
    put16(icmp + 6, seq);
    memmove(icmp + ICMP_HLEN, data, len); /* data may already lie in `out` */
    put16(icmp + 2, inet_checksum(icmp, ICMP_HLEN + len, 0));
    uint32_t n = ETH_HLEN + IPV4_HLEN + ICMP_HLEN + len;
    if (n < 60) {
        memset(f + n, 0, 60 - n);
        n = 60;
    }
    return stack_output(f, n);
}

int stack_send_echo(const uint8_t mac[6], const uint8_t ip[4], uint16_t id, uint16_t seq, const uint8_t *data,
                    uint32_t len) {
    return send_icmp(mac, ip, 8, id, seq, data, len);
}

void stack_expect_echo(uint16_t id, uint16_t seq) {
    echo.id = id;
    echo.seq = seq;
    echo.armed = 1;
    echo.seen = 0;
}

int stack_echo_seen(void) { return echo.seen; }

uint32_t stack_build_udp(uint8_t *f, const uint8_t mac[6], const uint8_t ip[4], uint16_t sport, uint16_t dport,
                         const uint8_t *data, uint32_t len) {
    if (len > UDP_MAX_PAYLOAD)
        return 0;
    eth_header(f, mac, ETH_TYPE_IPV4);
    ipv4_header(f, ip, 17, UDP_HLEN + len);
    uint8_t *u = f + ETH_HLEN + IPV4_HLEN;
    put16(u, sport);
    put16(u + 2, dport);
    put16(u + 4, (uint16_t)(UDP_HLEN + len));
    put16(u + 6, 0);
    memmove(u + UDP_HLEN, data, len);
    uint16_t c = inet_checksum(u, UDP_HLEN + len, pseudo_sum(cfg.ip, ip, 17, (uint16_t)(UDP_HLEN + len)));
    put16(u + 6, c == 0 ? 0xffff : c); /* 0 means "no checksum" in UDP */
    uint32_t n = ETH_HLEN + IPV4_HLEN + UDP_HLEN + len;
    if (n < 60) {
        memset(f + n, 0, 60 - n);
        n = 60;
    }
    return n;
}

int stack_send_udp(const uint8_t mac[6], const uint8_t ip[4], uint16_t sport, uint16_t dport, const uint8_t *data,
                   uint32_t len) {
    uint32_t n = stack_build_udp(out, mac, ip, sport, dport, data, len);
    return n ? stack_output(out, n) : 0;
}

void stack_udp_bind(uint16_t port, const uint8_t from[4], uint16_t from_port) {
    inbox.port = port;
    memcpy(inbox.from, from, 4);
    inbox.from_port = from_port;
    inbox.full = 0;
}

int stack_udp_take(const uint8_t **data, uint32_t *len) {
    if (!inbox.full)
        return 0;
    inbox.full = 0;
    *data = inbox.data;
    *len = inbox.len;
    return 1;
}

/* ---- input ---- */

static enum stack_verdict arp_input(const uint8_t *a, uint32_t len) {
    if (len < 28)
        return IN_DROPPED;
    if (get16(a) != 1 || get16(a + 2) != ETH_TYPE_IPV4 || a[4] != 6 || a[5] != 4)
        return IN_DROPPED;
    uint16_t op = get16(a + 6);
    const uint8_t *sha = a + 8, *spa = a + 14, *tpa = a + 24;
    if (memcmp(tpa, cfg.ip, 4) != 0)
        return IN_IGNORED;
    if (sha[0] & 1) /* a multicast sender is a lie; never cache it */
        return IN_DROPPED;
    arp_learn(spa, sha);
    if (op == 1) {
        uint8_t mac[6], ip[4];
        memcpy(mac, sha, 6); /* `out` is about to be overwritten; the input frame is not */
        memcpy(ip, spa, 4);
        memset(out, 0, 60);
        send_arp(2, mac, mac, ip);
        stats.arp_replied++;
        return IN_ARP_REPLIED;
    }
    return op == 2 ? IN_ARP_LEARNED : IN_IGNORED;
}

static enum stack_verdict icmp_input(const uint8_t *src_mac, const uint8_t *ip, const uint8_t *icmp, uint32_t len) {
    if (len < ICMP_HLEN || inet_checksum(icmp, len, 0) != 0)
        return IN_DROPPED;
    if (icmp[0] == 8 && icmp[1] == 0) {
        uint8_t mac[6], src[4];
        memcpy(mac, src_mac, 6);
        memcpy(src, ip + 12, 4);
        if (!send_icmp(mac, src, 0, get16(icmp + 4), get16(icmp + 6), icmp + ICMP_HLEN, len - ICMP_HLEN))
            return IN_DROPPED;
        stats.icmp_replied++;
        return IN_ICMP_REPLIED;
    }
    if (icmp[0] == 0 && icmp[1] == 0) {
        if (echo.armed && get16(icmp + 4) == echo.id && get16(icmp + 6) == echo.seq) {
            echo.seen = 1;
            echo.armed = 0;
        }
        return IN_ECHO_REPLY;
    }
    return IN_IGNORED;
}

static enum stack_verdict udp_input(const uint8_t *ip, const uint8_t *u, uint32_t len) {
    if (len < UDP_HLEN)
        return IN_DROPPED;
    uint16_t ulen = get16(u + 4);
    if (ulen < UDP_HLEN || ulen > len)
        return IN_DROPPED;
    if (get16(u + 6) != 0 && inet_checksum(u, ulen, pseudo_sum(ip + 12, ip + 16, 17, ulen)) != 0)
        return IN_DROPPED;
    if (!inbox.port || get16(u + 2) != inbox.port || get16(u) != inbox.from_port || memcmp(ip + 12, inbox.from, 4))
        return IN_IGNORED;
    uint32_t n = ulen - UDP_HLEN;
    if (n > sizeof inbox.data)
        return IN_DROPPED;
    memcpy(inbox.data, u + UDP_HLEN, n);
    inbox.len = n;
    inbox.full = 1;
    return IN_UDP;
}

static enum stack_verdict ipv4_input(const uint8_t *f, const uint8_t *ip, uint32_t len) {
    if (len < IPV4_HLEN || (ip[0] >> 4) != 4)
        return IN_DROPPED;
    uint32_t hlen = (ip[0] & 0xf) * 4u;
    uint32_t total = get16(ip + 2);
    if (hlen < IPV4_HLEN || total < hlen || total > len)
        return IN_DROPPED; /* len may exceed total: Ethernet padding */
    if (inet_checksum(ip, hlen, 0) != 0)
        return IN_DROPPED;
    if (memcmp(ip + 16, cfg.ip, 4) != 0)
        return IN_IGNORED;
    if (get16(ip + 6) & 0x3fff) /* MF or a fragment offset: we do not reassemble */
        return IN_IGNORED;
    const uint8_t *payload = ip + hlen;
    uint32_t plen = total - hlen;
    switch (ip[9]) {
    case 1:
        return icmp_input(f + 6, ip, payload, plen);
    case 17:
        return udp_input(ip, payload, plen);
    default:
        return IN_IGNORED;
    }
}

static enum stack_verdict classify(const uint8_t *f, uint32_t len) {
    if (len < ETH_HLEN)
        return IN_DROPPED;
    if (memcmp(f, cfg.mac, 6) != 0 && memcmp(f, BROADCAST, 6) != 0)
        return IN_IGNORED;
    switch (get16(f + 12)) {
    case ETH_TYPE_ARP:
        return arp_input(f + ETH_HLEN, len - ETH_HLEN);
    case ETH_TYPE_IPV4:
        return ipv4_input(f, f + ETH_HLEN, len - ETH_HLEN);
    default:
        return IN_IGNORED;
    }
}

enum stack_verdict stack_input(const uint8_t *frame, uint32_t len) {
    enum stack_verdict v = classify(frame, len);
    stats.frames++;
    if (v == IN_DROPPED)
        stats.dropped++;
    else if (v == IN_IGNORED)
        stats.ignored++;
    return v;
}
