/* Network configuration over rtnetlink (no forked `ip`): MAC, IPv4 address, default route. */
#ifndef HOSTD_LINUX_NETCONF_H
#define HOSTD_LINUX_NETCONF_H
#include <stdint.h>

/* Configure interface `ifname` for a new identity, in this order: link down (drops its routes and
 * neighbours of the previous identity), IPv6 off on it, MAC, every IPv4 address removed, link up, `ipv4/prefix`
 * added (skipped if ipv4 is 0.0.0.0), default route via `gateway` replaced (skipped if 0.0.0.0).
 * Also brings `lo` up. Returns 0, or -1 with errno set and *why naming the failed step. */
int netconf_apply(const char *ifname, const uint8_t mac[6], const uint8_t ipv4[4], uint8_t prefix_len,
                  const uint8_t gateway[4], const char **why);

#endif
