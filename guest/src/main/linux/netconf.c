#include "netconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <net/if.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_arp.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

/* One request buffer: header, the fixed part, a few attributes. */
struct nlreq {
    struct nlmsghdr h;
    uint8_t body[256];
};

static void nl_init(struct nlreq *r, uint16_t type, uint16_t flags) {
    memset(r, 0, sizeof *r);
    r->h.nlmsg_len = NLMSG_LENGTH(0);
    r->h.nlmsg_type = type;
    r->h.nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
}

static void *nl_put(struct nlreq *r, const void *data, size_t len) {
    void *at = (uint8_t *)&r->h + NLMSG_ALIGN(r->h.nlmsg_len);
    memcpy(at, data, len);
    r->h.nlmsg_len = NLMSG_ALIGN(r->h.nlmsg_len) + (uint32_t)len;
    return at;
}

static void nl_attr(struct nlreq *r, uint16_t type, const void *data, size_t len) {
    struct rtattr *a = (struct rtattr *)((uint8_t *)&r->h + NLMSG_ALIGN(r->h.nlmsg_len));
    a->rta_len = (unsigned short)RTA_LENGTH(len);
    a->rta_type = type;
    memcpy(RTA_DATA(a), data, len);
    r->h.nlmsg_len = NLMSG_ALIGN(r->h.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

static uint32_t nl_seq;

/* Sends one request with NLM_F_ACK and waits for its ACK. Returns 0 or -1 with errno. */
static int nl_call(int fd, struct nlreq *r) {
    r->h.nlmsg_flags |= NLM_F_ACK;
    r->h.nlmsg_seq = ++nl_seq;
    if (send(fd, &r->h, r->h.nlmsg_len, 0) < 0)
        return -1;
    uint8_t buf[8192] __attribute__((aligned(4)));
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0)
            return -1;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_seq != r->h.nlmsg_seq || h->nlmsg_type != NLMSG_ERROR)
                continue;
            if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr))) {
                errno = EPROTO;
                return -1;
            }
            struct nlmsgerr *e = NLMSG_DATA(h);
            if (e->error == 0)
                return 0;
            errno = -e->error;
            return -1;
        }
    }
}

static int link_set(int fd, int ifindex, int up, const uint8_t *mac) {
    struct nlreq r;
    nl_init(&r, RTM_NEWLINK, 0);
    struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex,
                            .ifi_flags = up ? IFF_UP : 0, .ifi_change = IFF_UP};
    nl_put(&r, &ifi, sizeof ifi);
    if (mac)
        nl_attr(&r, IFLA_ADDRESS, mac, 6);
    return nl_call(fd, &r);
}

/* Deletes every IPv4 address of the interface: dump, then one RTM_DELADDR each. */
static int addr_flush(int fd, int ifindex) {
    for (int round = 0; round < 64; round++) {
        struct nlreq r;
        nl_init(&r, RTM_GETADDR, NLM_F_DUMP);
        struct ifaddrmsg ifa = {.ifa_family = AF_INET};
        nl_put(&r, &ifa, sizeof ifa);
        r.h.nlmsg_seq = ++nl_seq;
        if (send(fd, &r.h, r.h.nlmsg_len, 0) < 0)
            return -1;
        /* Collect the first address of ours, finish reading the dump, then delete it. */
        struct ifaddrmsg victim;
        uint8_t local[4];
        int have = 0, done = 0;
        uint8_t buf[16384] __attribute__((aligned(4)));
        while (!done) {
            ssize_t n = recv(fd, buf, sizeof buf, 0);
            if (n < 0)
                return -1;
            for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
                if (h->nlmsg_seq != r.h.nlmsg_seq)
                    continue;
                if (h->nlmsg_type == NLMSG_DONE) {
                    done = 1;
                    break;
                }
                if (h->nlmsg_type == NLMSG_ERROR) {
                    struct nlmsgerr *e = NLMSG_DATA(h);
                    errno = h->nlmsg_len >= NLMSG_LENGTH(sizeof *e) ? -e->error : EPROTO;
                    return -1;
                }
                if (h->nlmsg_type != RTM_NEWADDR || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifaddrmsg)))
                    continue;
                struct ifaddrmsg *a = NLMSG_DATA(h);
                if (have || a->ifa_family != AF_INET || (int)a->ifa_index != ifindex)
                    continue;
                int alen = (int)IFA_PAYLOAD(h);
                for (struct rtattr *at = IFA_RTA(a); RTA_OK(at, alen); at = RTA_NEXT(at, alen)) {
                    if (at->rta_type == IFA_LOCAL && RTA_PAYLOAD(at) == 4) {
                        victim = *a;
                        memcpy(local, RTA_DATA(at), 4);
                        have = 1;
                    }
                }
            }
        }
        if (!have)
            return 0;
        struct nlreq d;
        nl_init(&d, RTM_DELADDR, 0);
        nl_put(&d, &victim, sizeof victim);
        nl_attr(&d, IFA_LOCAL, local, 4);
        if (nl_call(fd, &d) < 0)
            return -1;
    }
    errno = ELOOP; /* an interface with more than 64 addresses that will not go away */
    return -1;
}

static int addr_add(int fd, int ifindex, const uint8_t ip[4], uint8_t prefix) {
    struct nlreq r;
    nl_init(&r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
    struct ifaddrmsg ifa = {.ifa_family = AF_INET, .ifa_prefixlen = prefix, .ifa_scope = RT_SCOPE_UNIVERSE,
                            .ifa_index = (uint32_t)ifindex};
    nl_put(&r, &ifa, sizeof ifa);
    nl_attr(&r, IFA_LOCAL, ip, 4);
    nl_attr(&r, IFA_ADDRESS, ip, 4);
    if (prefix < 31) { /* broadcast: the host part all ones */
        uint32_t a;
        memcpy(&a, ip, 4);
        uint32_t mask = prefix ? htonl(~0u << (32 - prefix)) : 0;
        uint32_t brd = a | ~mask;
        nl_attr(&r, IFA_BROADCAST, &brd, 4);
    }
    return nl_call(fd, &r);
}

static int default_route(int fd, int ifindex, const uint8_t gw[4]) {
    struct nlreq r;
    nl_init(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE);
    struct rtmsg rt = {.rtm_family = AF_INET, .rtm_dst_len = 0, .rtm_table = RT_TABLE_MAIN,
                       .rtm_protocol = RTPROT_STATIC, .rtm_scope = RT_SCOPE_UNIVERSE, .rtm_type = RTN_UNICAST};
    nl_put(&r, &rt, sizeof rt);
    nl_attr(&r, RTA_GATEWAY, gw, 4);
    uint32_t oif = (uint32_t)ifindex;
    nl_attr(&r, RTA_OIF, &oif, 4);
    return nl_call(fd, &r);
}

/* The sandbox network is IPv4 (the identity page has no IPv6): without this the kernel would give
 * eth0 a link-local address and send router solicitations and DAD probes into the tenant network.
 * A kernel without IPv6 has no such file, which is fine. */
static int ipv6_off(const char *ifname) {
    char path[128];
    snprintf(path, sizeof path, "/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    int rc = write(fd, "1", 1) == 1 ? 0 : -1;
    close(fd);
    return rc;
}

static int is_zero(const uint8_t a[4]) { return !(a[0] | a[1] | a[2] | a[3]); }

int netconf_apply(const char *ifname, const uint8_t mac[6], const uint8_t ipv4[4], uint8_t prefix_len,
                  const uint8_t gateway[4], const char **why) {
    if (prefix_len > 32) {
        errno = EINVAL;
        *why = "prefix length above 32";
        return -1;
    }
    if (mac[0] & 1) {
        errno = EINVAL;
        *why = "multicast MAC address";
        return -1;
    }
    int ifindex = (int)if_nametoindex(ifname);
    if (!ifindex) {
        *why = "no such interface";
        return -1;
    }
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) {
        *why = "netlink socket";
        return -1;
    }
    int rc = -1, lo = (int)if_nametoindex("lo");
    if (lo && link_set(fd, lo, 1, NULL) < 0)
        *why = "lo up";
    else if (link_set(fd, ifindex, 0, NULL) < 0)
        *why = "link down";
    else if (ipv6_off(ifname) < 0)
        *why = "disable IPv6";
    else if (link_set(fd, ifindex, 0, mac) < 0)
        *why = "set MAC";
    else if (addr_flush(fd, ifindex) < 0)
        *why = "remove old addresses";
    else if (link_set(fd, ifindex, 1, NULL) < 0)
        *why = "link up";
    else if (!is_zero(ipv4) && addr_add(fd, ifindex, ipv4, prefix_len) < 0)
        *why = "add address";
    else if (!is_zero(gateway) && default_route(fd, ifindex, gateway) < 0)
        *why = "default route";
    else
        rc = 0;
    int err = errno;
    close(fd);
    errno = err;
    return rc;
}
