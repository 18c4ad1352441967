/* hostd-linux-agent: /init of a Linux guest's initramfs (docs/guest-abi.md, "The Linux agent").
 *
 * As PID 1 it mounts /proc, /sys and /dev, loads the virtio-mmio, virtio-net and vsock modules,
 * and maps the identity page from /dev/mem. Then, forever: on each new identity generation it
 * applies the identity (apply.c), connects to the host and sends HELLO (session.c), and answers
 * INVOKEs. A clone finds out it is a new machine when its vsock connection is reset (the VMM resets
 * the transport on a clone) or, failing that, within --poll-ms.
 *
 * Run as an ordinary process (the host-side tests) it skips the PID 1 set-up:
 *   linux-agent [--identity-file F] [--connect vsock:CID:PORT|unix:PATH] [--skip net,hostname,rng,clock]
 *               [--poll-ms N] */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "apply.h"
#include "identity.h"
#include "idpage.h"
#include "log.h"
#include "modules.h"
#include "session.h"

struct options {
    const char *identity_file; /* NULL: /dev/mem at the command line's address */
    struct endpoint host;
    unsigned steps;
    int poll_ms;
};

static void usage(void) {
    fprintf(stderr, "usage: linux-agent [--identity-file F] [--connect vsock:CID:PORT|unix:PATH]\n"
                    "                   [--skip net,hostname,rng,clock] [--poll-ms N]\n");
    exit(2);
}

static unsigned parse_skip(const char *list) {
    unsigned skip = 0;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (!strcmp(t, "net"))
            skip |= APPLY_NET;
        else if (!strcmp(t, "hostname"))
            skip |= APPLY_HOSTNAME;
        else if (!strcmp(t, "rng"))
            skip |= APPLY_RNG;
        else if (!strcmp(t, "clock"))
            skip |= APPLY_CLOCK;
        else
            usage();
    }
    return skip;
}

static void parse_args(int argc, char **argv, struct options *o) {
    o->identity_file = NULL;
    endpoint_parse("vsock:2:1024", &o->host); /* AGENT_HOST_CID, AGENT_HOST_PORT */
    o->steps = APPLY_ALL;
    o->poll_ms = 1000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            usage();
        if (!strcmp(a, "--identity-file"))
            o->identity_file = v;
        else if (!strcmp(a, "--connect")) {
            if (endpoint_parse(v, &o->host) < 0)
                usage();
        } else if (!strcmp(a, "--skip"))
            o->steps &= ~parse_skip(v);
        else if (!strcmp(a, "--poll-ms")) {
            o->poll_ms = atoi(v);
            if (o->poll_ms < 1)
                usage();
        } else
            usage();
        i++;
    }
}

/* PID 1 only: the file systems the agent needs. The rootfs (the unpacked initramfs) stays. */
static int pid1_mounts(void) {
    static const struct {
        const char *src, *dir, *type;
    } m[] = {{"proc", "/proc", "proc"}, {"sysfs", "/sys", "sysfs"}, {"devtmpfs", "/dev", "devtmpfs"}};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
        mkdir(m[i].dir, 0755);
        if (mount(m[i].src, m[i].dir, m[i].type, MS_NOSUID | MS_NOEXEC, NULL) < 0 && errno != EBUSY) {
            agent_log("mount %s: %s", m[i].dir, strerror(errno));
            return -1;
        }
    }
    return 0;
}

static int map_identity(const struct options *o, struct idpage *page) {
    const char *why = NULL;
    if (o->identity_file) {
        if (idpage_map(page, o->identity_file, 0, &why) < 0) {
            agent_log("identity file %s: %s: %s", o->identity_file, why, strerror(errno));
            return -1;
        }
        return 0;
    }
    char cmdline[4096];
    FILE *f = fopen("/proc/cmdline", "re");
    size_t n = f ? fread(cmdline, 1, sizeof cmdline, f) : 0;
    if (f)
        fclose(f);
    uint64_t addr;
    if (idpage_parse_cmdline(cmdline, n, &addr, &why) < 0) {
        agent_log("kernel command line: %s", why);
        return -1;
    }
    if (idpage_map(page, "/dev/mem", addr, &why) < 0) {
        agent_log("identity page at 0x%llx in /dev/mem: %s: %s", (unsigned long long)addr, why, strerror(errno));
        return -1;
    }
    /* CONFIG_STRICT_DEVMEM refuses to map e820 RAM above 1 MiB (below 1 MiB mmap is allowed): say so,
     * rather than wait silently for a magic that never comes. */
    if (identity_generation(page->page) == 0)
        agent_log("identity page at 0x%llx has no magic yet, waiting", (unsigned long long)addr);
    return 0;
}

/* A fatal set-up error: PID 1 must not exit (the kernel would panic and lose the console line), so
 * it idles; the host times out waiting for HELLO and reports the console tail. */
static int fatal(int pid1) {
    if (!pid1)
        return 1;
    for (;;)
        pause();
}

int main(int argc, char **argv) {
    struct options o;
    parse_args(argc, argv, &o);
    int pid1 = getpid() == 1;
    if (pid1) {
        setenv("PATH", "/bin:/sbin:/usr/bin:/usr/sbin", 1);
        static const char *const needed[] = MODULES_NEEDED;
        if (pid1_mounts() < 0 || modules_load(NULL, needed, MODULES_NEEDED_COUNT) < 0)
            return fatal(pid1);
    }
    struct idpage page;
    struct session s;
    if (map_identity(&o, &page) < 0)
        return fatal(pid1);
    if (session_init(&s) < 0) {
        agent_log("out of memory");
        return fatal(pid1);
    }

    struct identity_report report;
    uint64_t current = 0;
    uint32_t seen = 0;
    int ready = 0, quiet = 0;
    for (;;) {
        if (pid1)
            while (waitpid(-1, NULL, WNOHANG) > 0) {
            } /* orphans of exec'd programs */
        uint64_t gen = identity_generation(page.page);
        if (gen && gen != current) {
            /* A new machine: forget the connection (it belongs to the previous identity). */
            current = gen;
            session_close(&s);
            ready = 0;
            quiet = 0;
            struct identity_page pg;
            const char *why = identity_read(page.page, &pg);
            if (!why)
                current = pg.generation; /* the copy's: the page may have changed since `gen` was read */
            if (why) {
                agent_log("identity generation %llu rejected: %s", (unsigned long long)gen, why);
            } else if (apply_identity(&pg, o.steps, &why) < 0) {
                agent_log("identity generation %llu: %s: %s", (unsigned long long)gen, why, strerror(errno));
            } else {
                identity_build_report(&pg, ++seen, &report);
                ready = 1;
                if (seen == 1) /* quiet on clones: every console byte is a VM exit */
                    agent_log("ready, identity generation %llu", (unsigned long long)gen);
            }
        }
        if (ready && s.fd < 0) {
            if (session_open(&s, &o.host, &report) < 0) {
                if (!quiet++)
                    agent_log("connect to the host: %s (retrying)", strerror(errno));
                poll(NULL, 0, 100);
                continue;
            }
            quiet = 0;
        }
        struct pollfd pf = {.fd = s.fd, .events = POLLIN};
        if (poll(&pf, s.fd >= 0 ? 1 : 0, o.poll_ms) > 0 && session_serve(&s, &report) < 0) {
            /* The host closed the connection, or the transport was reset by a clone. */
            if (identity_generation(page.page) == current)
                poll(NULL, 0, 100); /* the same machine: reconnect, but not in a tight loop */
        }
    }
}
