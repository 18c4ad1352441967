#include "netfn.h"

#include "io.h"
#include "lib.h"
#include "net.h"
#include "netstack.h"

#define PING_MAX 1000
#define REPLY_TIMEOUT_NS 1000000000ull
#define ARP_TRIES 3
#define ARP_TIMEOUT_NS 500000000ull
#define LOST 0xFFFFFFFFu

static uint64_t tsc_khz;
static uint16_t call_serial;
static uint8_t result[8 + 4 * PING_MAX + 2 + UDP_MAX_PAYLOAD];
static uint8_t frame[ETH_MAX_FRAME];

void netfn_init(const struct boot_info *bi) { tsc_khz = bi->tsc_khz; }

static uint64_t now_ns(void) {
    uint64_t t = rdtsc();
    return t / tsc_khz * 1000000ull + t % tsc_khz * 1000000ull / tsc_khz;
}

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)(p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* Poll the network (answering ARP and pings meanwhile) until done() or the timeout; the vCPU
 * sleeps on the timed wait port in between, woken early when frames arrive. */
static int poll_until(int (*done)(void), uint64_t timeout_ns) {
    uint64_t end = now_ns() + timeout_ns;
    for (;;) {
        net_poll();
        /* The device fills rx buffers during a notify exit too: after one, look again before sleeping,
         * or a reply delivered then would wait for the timer. */
        int kicked = net_flush();
        if (done())
            return 1;
        uint64_t now = now_ns();
        if (now >= end)
            return 0;
        if (kicked)
            continue;
        uint64_t us = (end - now) / 1000 + 1;
        outl(PORT_WAIT_TIMED, us > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)us);
    }
}

static uint8_t resolving[4];
static int resolved(void) {
    uint8_t mac[6];
    return stack_arp_lookup(resolving, mac);
}

/* The MAC of the next hop towards ip, asking ARP if needed. */
static int resolve(const uint8_t ip[4], uint8_t mac[6]) {
    stack_next_hop(ip, resolving);
    for (int i = 0; i < ARP_TRIES && !resolved(); i++) {
        stack_send_arp_request(resolving);
        poll_until(resolved, ARP_TIMEOUT_NS);
    }
    return stack_arp_lookup(resolving, mac);
}

/* ping: ip[4] [u32 count]  ->  u32 sent, u32 received, u32 rtt_ns[sent] (LOST if no reply in 1 s) */
static uint32_t fn_ping(const uint8_t *arg, uint32_t len, const uint8_t **out, uint32_t *out_len) {
    if ((len != 4 && len != 8) || tsc_khz == 0)
        return STATUS_BAD_ARGUMENT;
    uint32_t count = len == 8 ? get32(arg + 4) : 1;
    if (count < 1 || count > PING_MAX)
        return STATUS_BAD_ARGUMENT;
    uint8_t ip[4], mac[6], data[56];
    memcpy(ip, arg, 4);
    for (uint32_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)i;
    uint32_t sent = 0, received = 0;
    uint16_t id = (uint16_t)(0x4800 + call_serial++);
    if (resolve(ip, mac)) {
        for (uint32_t seq = 0; seq < count; seq++) {
            stack_expect_echo(id, (uint16_t)seq);
            uint64_t start = now_ns();
            if (!stack_send_echo(mac, ip, id, (uint16_t)seq, data, sizeof data))
                break;
            sent++;
            uint32_t rtt = LOST;
            if (poll_until(stack_echo_seen, REPLY_TIMEOUT_NS)) {
                uint64_t d = now_ns() - start;
                rtt = d >= LOST ? LOST - 1 : (uint32_t)d;
                received++;
            }
            put32(result + 8 + 4 * seq, rtt);
        }
    }
    put32(result, sent);
    put32(result + 4, received);
    *out = result;
    *out_len = 8 + 4 * sent;
    return STATUS_OK;
}

static const uint8_t *udp_data;
static uint32_t udp_len;
static int udp_arrived(void) { return stack_udp_take(&udp_data, &udp_len); }

/* udp: ip[4], u16 port, u16 count, payload  ->  u32 sent, u32 received, u32 rtt_ns[sent],
 * u16 length of the last reply, its bytes */
static uint32_t fn_udp(const uint8_t *arg, uint32_t len, const uint8_t **out, uint32_t *out_len) {
    if (len < 8 || tsc_khz == 0)
        return STATUS_BAD_ARGUMENT;
    uint16_t port = get16(arg + 4), count = get16(arg + 6);
    uint32_t plen = len - 8;
    if (port == 0 || count < 1 || count > PING_MAX || plen > UDP_MAX_PAYLOAD)
        return STATUS_BAD_ARGUMENT;
    uint8_t ip[4], mac[6];
    memcpy(ip, arg, 4);
    uint16_t sport = (uint16_t)(40000 + (call_serial++ & 0x3FFF));
    uint32_t sent = 0, received = 0, last_len = 0;
    if (resolve(ip, mac)) {
        for (uint32_t i = 0; i < count; i++) {
            stack_udp_bind(sport, ip, port);
            uint64_t start = now_ns();
            if (!stack_send_udp(mac, ip, sport, port, arg + 8, plen))
                break;
            sent++;
            uint32_t rtt = LOST;
            if (poll_until(udp_arrived, REPLY_TIMEOUT_NS)) {
                uint64_t d = now_ns() - start;
                rtt = d >= LOST ? LOST - 1 : (uint32_t)d;
                received++;
                last_len = udp_len;
                memcpy(frame, udp_data, udp_len); /* the inbox is overwritten by the next datagram */
            }
            put32(result + 8 + 4 * i, rtt);
        }
        stack_udp_bind(0, ip, 0);
    }
    put32(result, sent);
    put32(result + 4, received);
    uint8_t *p = result + 8 + 4 * sent;
    p[0] = (uint8_t)last_len;
    p[1] = (uint8_t)(last_len >> 8);
    memcpy(p + 2, frame, last_len);
    *out = result;
    *out_len = 8 + 4 * sent + 2 + last_len;
    return STATUS_OK;
}

/* udpflood: ip[4], u16 port, u16 payload size, u32 count  ->  u64 sent, u64 elapsed_ns.
 * Sends as fast as the tx queue takes them: one notification per full queue. */
static uint32_t fn_udpflood(const uint8_t *arg, uint32_t len, const uint8_t **out, uint32_t *out_len) {
    if (len != 12 || tsc_khz == 0)
        return STATUS_BAD_ARGUMENT;
    uint16_t port = get16(arg + 4), size = get16(arg + 6);
    uint32_t count = get32(arg + 8);
    if (port == 0 || size > UDP_MAX_PAYLOAD)
        return STATUS_BAD_ARGUMENT;
    uint8_t ip[4], mac[6];
    memcpy(ip, arg, 4);
    uint16_t sport = (uint16_t)(40000 + (call_serial++ & 0x3FFF));
    uint64_t sent = 0, start = now_ns(), elapsed = 0;
    if (resolve(ip, mac)) {
        static uint8_t payload[UDP_MAX_PAYLOAD];
        for (uint32_t i = 0; i < size; i++)
            payload[i] = (uint8_t)(i * 13);
        uint32_t n = stack_build_udp(frame, mac, ip, sport, port, payload, size);
        start = now_ns();
        while (sent < count && stack_output(frame, n))
            sent++;
        net_flush();
        net_poll();
        elapsed = now_ns() - start;
    }
    put64(result, sent);
    put64(result + 8, elapsed);
    *out = result;
    *out_len = 16;
    return STATUS_OK;
}

static const struct {
    const char *name;
    uint32_t (*fn)(const uint8_t *arg, uint32_t len, const uint8_t **out, uint32_t *out_len);
} table[] = {
    {"ping", fn_ping},
    {"udp", fn_udp},
    {"udpflood", fn_udpflood},
};

int64_t netfn_invoke(const char *name, uint32_t name_len, const uint8_t *arg, uint32_t arg_len,
                     const uint8_t **out, uint32_t *out_len) {
    for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
        if (strnlen(table[i].name, 16) == name_len && !memcmp(table[i].name, name, name_len))
            return net_present() ? table[i].fn(arg, arg_len, out, out_len) : STATUS_UNAVAILABLE;
    }
    return -1;
}
