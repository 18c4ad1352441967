/* A minimal Ethernet/ARP/IPv4/ICMP/UDP stack for the test guest. Portable C without I/O: frames
 * come in through stack_input and go out through stack_output (the driver's, or a test's fake),
 * so the host-side unit tests run every parser on malformed input. One interface, no fragments,
 * no options sent, no routing beyond "on-link or the gateway". */
#ifndef HOSTD_GUEST_NETSTACK_H
#define HOSTD_GUEST_NETSTACK_H
#include <stdint.h>

#define ETH_HLEN 14
#define ETH_MAX_FRAME 1514
#define ETH_TYPE_IPV4 0x0800
#define ETH_TYPE_ARP 0x0806
#define IPV4_HLEN 20
#define UDP_HLEN 8
#define ICMP_HLEN 8
#define UDP_MAX_PAYLOAD (ETH_MAX_FRAME - ETH_HLEN - IPV4_HLEN - UDP_HLEN) /* 1472 */
#define ARP_CACHE_SIZE 8

struct net_config {
    uint8_t mac[6];
    uint8_t ip[4];
    uint8_t prefix; /* 0..32 */
    uint8_t gateway[4];
};

/* What stack_input did with a frame. */
enum stack_verdict {
    IN_DROPPED,      /* malformed: bad length, checksum, version... */
    IN_IGNORED,      /* well-formed but not for us (other MAC or IP, other protocol, fragment) */
    IN_ARP_REPLIED,  /* an ARP request for our address: answered */
    IN_ARP_LEARNED,  /* an ARP reply to us: cached */
    IN_ICMP_REPLIED, /* an echo request to us: answered */
    IN_ECHO_REPLY,   /* an echo reply to us */
    IN_UDP,          /* a datagram to our bound port: kept in the inbox */
};

struct stack_stats {
    uint32_t frames, dropped, ignored, arp_replied, icmp_replied;
};

/* New addresses (a new identity): forgets the ARP cache, the inbox and the expected echo. */
void stack_configure(const struct net_config *c);
const struct net_config *stack_config(void);
const struct stack_stats *stack_stats(void);

/* Implemented by the driver (tests fake it): queue one frame for transmission; 1 if queued. */
int stack_output(const uint8_t *frame, uint32_t len);

/* One received Ethernet frame (no virtio header). Never reads beyond len. */
enum stack_verdict stack_input(const uint8_t *frame, uint32_t len);

/* The next hop for dst: dst itself when on-link, else the gateway. */
void stack_next_hop(const uint8_t dst[4], uint8_t hop[4]);
/* 1 and *mac if ip is in the ARP cache. */
int stack_arp_lookup(const uint8_t ip[4], uint8_t mac[6]);
int stack_send_arp_request(const uint8_t ip[4]);

/* Echo requests; the reply to (id, seq) is reported by stack_echo_seen once it has arrived. */
int stack_send_echo(const uint8_t mac[6], const uint8_t ip[4], uint16_t id, uint16_t seq,
                    const uint8_t *data, uint32_t len);
void stack_expect_echo(uint16_t id, uint16_t seq);
int stack_echo_seen(void);

/* Builds an Ethernet/IPv4/UDP frame into buf (at least ETH_MAX_FRAME bytes); its length, or 0
 * if the payload is too large. */
uint32_t stack_build_udp(uint8_t *buf, const uint8_t mac[6], const uint8_t ip[4], uint16_t sport,
                         uint16_t dport, const uint8_t *data, uint32_t len);
int stack_send_udp(const uint8_t mac[6], const uint8_t ip[4], uint16_t sport, uint16_t dport,
                   const uint8_t *data, uint32_t len);

/* The UDP inbox: the latest datagram to the bound port (0: none bound) from `from`:`from_port`. */
void stack_udp_bind(uint16_t port, const uint8_t from[4], uint16_t from_port);
/* 1 and the datagram if one arrived since the last take (the pointer is valid until the next input). */
int stack_udp_take(const uint8_t **data, uint32_t *len);

/* RFC 1071 Internet checksum of data, starting from a partial sum (0, or a pseudo-header's). */
uint16_t inet_checksum(const void *data, uint32_t len, uint32_t sum);

#endif
