#include "apply.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/random.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "netconf.h"

/* Mix the seed into the input pool crediting its 256 bits, then force the CRNG to reseed from it:
 * every clone starts with the same CRNG state, so crediting alone (which reseeds later, on a timer)
 * would leave clones producing the same numbers until then. */
static int reseed(const uint8_t seed[32], const char **why) {
    struct {
        struct rand_pool_info info;
        uint8_t bytes[32];
    } req;
    req.info.entropy_count = 256;
    req.info.buf_size = 32;
    memcpy(req.bytes, seed, 32);
    int fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        *why = "open /dev/urandom";
        return -1;
    }
    int rc = ioctl(fd, RNDADDENTROPY, &req);
    if (rc < 0)
        *why = "RNDADDENTROPY";
    else if ((rc = ioctl(fd, RNDRESEEDCRNG)) < 0)
        *why = "RNDRESEEDCRNG";
    int err = errno;
    close(fd);
    explicit_bzero(&req, sizeof req);
    errno = err;
    return rc < 0 ? -1 : 0;
}

int apply_identity(const struct identity_page *page, unsigned steps, const char **why) {
    if (steps & APPLY_NET) {
        if (!if_nametoindex(APPLY_IFNAME)) {
            agent_log("no %s: network configuration skipped", APPLY_IFNAME);
        } else if (netconf_apply(APPLY_IFNAME, page->mac, page->ipv4, page->prefix_len, page->gateway, why) < 0) {
            return -1;
        }
    }
    if (steps & APPLY_HOSTNAME) {
        /* identity_read() checked the NUL within 64 bytes; the kernel takes at most 64 too. */
        size_t len = strnlen(page->hostname, sizeof page->hostname);
        if (len && sethostname(page->hostname, len) < 0) {
            *why = "sethostname";
            return -1;
        }
    }
    if ((steps & APPLY_RNG) && reseed(page->seed, why) < 0)
        return -1;
    if ((steps & APPLY_CLOCK) && page->wall_clock_ns) {
        struct timespec ts = {.tv_sec = (time_t)(page->wall_clock_ns / 1000000000u),
                              .tv_nsec = (long)(page->wall_clock_ns % 1000000000u)};
        if (clock_settime(CLOCK_REALTIME, &ts) < 0) {
            *why = "clock_settime";
            return -1;
        }
    }
    return 0;
}
