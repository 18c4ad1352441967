/* The real linux-agent, run as an ordinary process on the host, inside a network + UTS namespace
 * that this test creates for itself (unshare: both vanish when the test exits, however it exits;
 * the agent gets PR_SET_PDEATHSIG so it cannot outlive the test). eth0 is one end of a veth pair.
 *   agent-netns-test <linux-agent>
 * 1. Identity generation 1 (198.18.0.2/24 via 198.18.0.1, hostname sb-one): the agent sends HELLO
 *    with the expected identity report; eth0 has the MAC, the address, the default route; lo is
 *    up; the hostname is set. INVOKE echo, exec, an unknown name and an empty payload are answered.
 * 2. A clone: the page is rewritten with generation 2 (198.19.7.9/16 via 198.19.0.1, sb-two) and
 *    the connection is closed, as the VMM's transport reset does. The agent reconnects with a new
 *    HELLO (identities_seen 2), and the old address is gone.
 * 3. A page with an unterminated hostname (generation 3) is reported on the agent's console and not
 *    applied (no HELLO); generation 4 then is (identities_seen 3).
 * The clock step is skipped (CLOCK_REALTIME is not namespaced); the RNG step runs (the seed comes
 * from getrandom, so crediting it is honest). Skipped, with the reason, when not root or when the
 * kernel refuses the namespaces. Prints "N passed, M failed". */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "abi.h"
#include "frames.h"
#include "identity.h"

#include "check.h"

static char dir[64], page_path[96], sock_path[96];
static pid_t agent_pid;
static int agent_log_fd = -1; /* the agent's stderr */

static void cleanup(void) {
    if (agent_pid > 0) {
        kill(agent_pid, SIGKILL);
        waitpid(agent_pid, NULL, 0);
        agent_pid = 0;
    }
    if (sock_path[0])
        unlink(sock_path);
    if (page_path[0])
        unlink(page_path);
    if (dir[0])
        rmdir(dir);
}

static int run(const char *cmd) {
    int rc = system(cmd);
    if (rc != 0)
        printf("FAIL: '%s' exited %d\n", cmd, rc);
    return rc;
}

/* The output of a command (at most 64 KiB). */
static char *capture(const char *cmd) {
    static char out[65536];
    out[0] = 0;
    FILE *p = popen(cmd, "r");
    if (!p)
        return out;
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = 0;
    pclose(p);
    return out;
}

static int read_full(int fd, void *buf, size_t n) {
    uint8_t *b = buf;
    while (n) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, 20000) <= 0) /* a bound for a hung agent, not a measurement */
            return -1;
        ssize_t r = read(fd, b, n);
        if (r <= 0)
            return -1;
        b += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Waits until the agent's console output contains `what` (echoing it). Returns 1 if it did. */
static int wait_log(const char *what) {
    static char seen[8192];
    static size_t len;
    for (;;) {
        seen[len] = 0;
        if (strstr(seen, what))
            return 1;
        struct pollfd pf = {.fd = agent_log_fd, .events = POLLIN};
        if (len == sizeof seen - 1 || poll(&pf, 1, 20000) <= 0)
            return 0;
        ssize_t n = read(agent_log_fd, seen + len, sizeof seen - 1 - len);
        if (n <= 0)
            return 0;
        fwrite(seen + len, 1, (size_t)n, stdout);
        len += (size_t)n;
    }
}

static int accept_agent(int listener) {
    struct pollfd pf = {.fd = listener, .events = POLLIN};
    if (poll(&pf, 1, 20000) <= 0)
        return -1;
    return accept4(listener, NULL, NULL, SOCK_CLOEXEC);
}

/* Reads one frame; returns its payload (malloc'd) or NULL. */
static uint8_t *read_frame(int fd, struct frame_hdr *h) {
    if (read_full(fd, h, sizeof *h) < 0 || h->len > AGENT_MAX_PAYLOAD)
        return NULL;
    uint8_t *p = malloc(h->len + 1);
    if (p && read_full(fd, p, h->len) < 0) {
        free(p);
        return NULL;
    }
    return p;
}

static void invoke(int fd, uint64_t id, const char *name, const void *arg, uint32_t arg_len) {
    uint8_t buf[16 + 1 + 255 + 256];
    size_t nl = name ? strlen(name) : 0;
    uint32_t len = name ? (uint32_t)(1 + nl + arg_len) : 0;
    frames_encode_header(buf, FRAME_INVOKE, id, len);
    if (name) {
        buf[16] = (uint8_t)nl;
        memcpy(buf + 17, name, nl);
        memcpy(buf + 17 + nl, arg, arg_len);
    }
    if (send(fd, buf, 16 + len, MSG_NOSIGNAL) != (ssize_t)(16 + len))
        printf("FAIL: send INVOKE %llu\n", (unsigned long long)id);
}

/* Reads a RESULT; returns its status (or 0xFFFFFFFF), output in out/out_len. */
static uint32_t result(int fd, uint64_t id, uint8_t **out, uint32_t *out_len) {
    struct frame_hdr h;
    uint8_t *p = read_frame(fd, &h);
    *out = NULL;
    *out_len = 0;
    if (!p || h.type != FRAME_RESULT || h.request_id != id || h.len < 4) {
        free(p);
        return 0xFFFFFFFF;
    }
    uint32_t st;
    memcpy(&st, p, 4);
    *out_len = h.len - 4;
    memmove(p, p + 4, *out_len);
    *out = p;
    return st;
}

static struct identity_page make_page(uint64_t gen, const char *mac, const char *ip, uint8_t prefix, const char *gw,
                                      const char *host) {
    struct identity_page p;
    memset(&p, 0, sizeof p);
    p.magic = IDENTITY_MAGIC;
    p.version = IDENTITY_VERSION;
    p.size = IDENTITY_SIZE;
    p.generation = gen;
    memcpy(p.mac, mac, 6);
    memcpy(p.ipv4, ip, 4);
    p.prefix_len = prefix;
    memcpy(p.gateway, gw, 4);
    snprintf(p.hostname, sizeof p.hostname, "%s", host);
    snprintf(p.sandbox_id, sizeof p.sandbox_id, "sandbox-%llu", (unsigned long long)gen);
    snprintf(p.tenant_id, sizeof p.tenant_id, "tenant-netns");
    if (getrandom(p.seed, sizeof p.seed, 0) != (ssize_t)sizeof p.seed)
        memset(p.seed, 0x5A, sizeof p.seed);
    p.wall_clock_ns = 1800000000000000000ull + gen;
    return p;
}

/* The body first, then the header with the generation: the agent polls the mapped file, and must
 * not see a new generation with half of the old body (in a VM the VMM writes while the vCPU is
 * stopped; here the test is the VMM). Generations here differ in their low byte only. */
static void write_page(const struct identity_page *p) {
    int fd = open(page_path, O_WRONLY | O_CREAT, 0600);
    uint8_t page[4096] = {0};
    memcpy(page, p, sizeof *p);
    CHECK(fd >= 0 && pwrite(fd, page + 0x10, sizeof page - 0x10, 0x10) == (ssize_t)sizeof page - 0x10 &&
              pwrite(fd, page, 0x10, 0) == 0x10,
          "write identity page");
    close(fd);
}

static void check_hello(int fd, const struct identity_page *p, uint32_t seen) {
    struct identity_report want;
    identity_build_report(p, seen, &want);
    struct frame_hdr h;
    uint8_t *got = read_frame(fd, &h);
    CHECK(got && h.type == FRAME_HELLO && h.request_id == 0 && h.len == sizeof want, "HELLO frame (gen %llu)",
          (unsigned long long)p->generation);
    CHECK(got && h.len == sizeof want && !memcmp(got, &want, sizeof want),
          "HELLO carries the identity report (gen %llu, identities_seen %u)", (unsigned long long)p->generation, seen);
    free(got);
}

static void check_state(const char *mac, const char *addr, const char *gw, const char *host, const char *gone) {
    char want[128];
    const char *a = capture("ip -j addr show dev eth0");
    snprintf(want, sizeof want, "\"address\":\"%s\"", mac);
    CHECK(strstr(a, want), "eth0 has MAC %s: %s", mac, a);
    snprintf(want, sizeof want, "\"local\":\"%s\"", addr);
    CHECK(strstr(a, want), "eth0 has %s: %s", addr, a);
    CHECK(strstr(a, "\"UP\""), "eth0 is up");
    CHECK(!strstr(a, "inet6"), "eth0 has no IPv6 address: %s", a);
    if (gone) {
        snprintf(want, sizeof want, "\"local\":\"%s\"", gone);
        CHECK(!strstr(a, want), "the previous address %s is gone: %s", gone, a);
    }
    const char *r = capture("ip -j route show default");
    snprintf(want, sizeof want, "\"gateway\":\"%s\",\"dev\":\"eth0\"", gw);
    CHECK(strstr(r, want), "default route via %s dev eth0: %s", gw, r);
    CHECK(strstr(capture("ip -j link show lo"), "\"UP\""), "lo is up");
    struct utsname u;
    uname(&u);
    CHECK(!strcmp(u.nodename, host), "hostname %s, got %s", host, u.nodename);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: agent-netns-test <linux-agent>\n");
        return 2;
    }
    if (geteuid() != 0) {
        printf("agent-netns-test: skipped: needs root (network and UTS namespaces)\n");
        return 0;
    }
    if (unshare(CLONE_NEWNET | CLONE_NEWUTS) < 0) {
        printf("agent-netns-test: skipped: unshare(CLONE_NEWNET|CLONE_NEWUTS): %s\n", strerror(errno));
        return 0;
    }
    atexit(cleanup);
    snprintf(dir, sizeof dir, "/tmp/linux-agent-netns-XXXXXX");
    if (!mkdtemp(dir)) {
        dir[0] = 0;
        printf("FAIL: mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    snprintf(page_path, sizeof page_path, "%s/identity", dir);
    snprintf(sock_path, sizeof sock_path, "%s/agent.sock", dir);
    if (run("ip link add eth0 type veth peer name peer0") || run("ip link set peer0 up"))
        return 1;

    struct identity_page one = make_page(1, "\x02\x00\x00\x00\x00\x01", "\xc6\x12\x00\x02", 24, "\xc6\x12\x00\x01", "sb-one");
    write_page(&one);
    int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock_path);
    if (bind(listener, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(listener, 4) < 0) {
        printf("FAIL: listen on %s: %s\n", sock_path, strerror(errno));
        return 1;
    }

    char connect_spec[160];
    snprintf(connect_spec, sizeof connect_spec, "unix:%s", sock_path);
    int logpipe[2];
    if (pipe2(logpipe, O_CLOEXEC) < 0) {
        printf("FAIL: pipe: %s\n", strerror(errno));
        return 1;
    }
    agent_log_fd = logpipe[0];
    agent_pid = fork();
    if (agent_pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(logpipe[1], 2);
        execl(argv[1], argv[1], "--identity-file", page_path, "--connect", connect_spec, "--skip", "clock",
              "--poll-ms", "50", (char *)NULL);
        perror("exec linux-agent");
        _exit(127);
    }

    close(logpipe[1]);

    /* ---- generation 1 ---- */
    int c = accept_agent(listener);
    CHECK(c >= 0, "the agent connects");
    if (c < 0)
        return 1;
    check_hello(c, &one, 1);
    check_state("02:00:00:00:00:01", "198.18.0.2", "198.18.0.1", "sb-one", NULL);
    CHECK(strstr(capture("ip -j addr show dev eth0"), "\"prefixlen\":24"), "prefix /24");

    uint8_t *out;
    uint32_t out_len;
    invoke(c, 1, "echo", "ping", 4);
    CHECK(result(c, 1, &out, &out_len) == STATUS_OK && out_len == 4 && !memcmp(out, "ping", 4), "echo");
    free(out);
    static const char cmd[] = "/bin/sh\0-c\0hostname; exit 4";
    invoke(c, 2, "exec", cmd, sizeof cmd);
    uint32_t st = result(c, 2, &out, &out_len);
    int32_t code = -1;
    if (out_len >= 4)
        memcpy(&code, out, 4);
    CHECK(st == STATUS_OK && code == 4 && out_len == 4 + 7 && !memcmp(out + 4, "sb-one\n", 7),
          "exec runs in the agent's namespace: status %u code %d", st, code);
    free(out);
    invoke(c, 3, "nosuch", "", 0);
    CHECK(result(c, 3, &out, &out_len) == STATUS_UNKNOWN_FUNCTION && out_len == 0, "unknown function");
    free(out);
    invoke(c, 4, NULL, NULL, 0);
    CHECK(result(c, 4, &out, &out_len) == STATUS_BAD_ARGUMENT, "empty INVOKE");
    free(out);

    /* ---- a clone: new page, transport reset ---- */
    struct identity_page two = make_page(2, "\x02\x00\x00\x00\x00\x02", "\xc6\x13\x07\x09", 16, "\xc6\x13\x00\x01", "sb-two");
    write_page(&two);
    close(c);
    c = accept_agent(listener);
    CHECK(c >= 0, "the agent reconnects after the new generation");
    if (c < 0)
        return 1;
    check_hello(c, &two, 2);
    check_state("02:00:00:00:00:02", "198.19.7.9", "198.19.0.1", "sb-two", "198.18.0.2");
    invoke(c, 5, "echo", "again", 5);
    CHECK(result(c, 5, &out, &out_len) == STATUS_OK && out_len == 5, "echo after the clone");
    free(out);

    /* ---- a bad page (unterminated hostname): rejected, no HELLO; the next good one is applied ---- */
    struct identity_page bad = make_page(3, "\x02\x00\x00\x00\x00\x03", "\xc6\x12\x05\x05", 24, "\xc6\x12\x05\x01", "x");
    memset(bad.hostname, 'h', sizeof bad.hostname);
    write_page(&bad);
    close(c);
    CHECK(wait_log("identity generation 3 rejected: string not NUL-terminated"), "the bad page is reported");
    struct identity_page four = make_page(4, "\x02\x00\x00\x00\x00\x04", "\xc6\x12\x04\x04", 24, "\xc6\x12\x04\x01", "sb-four");
    write_page(&four);
    c = accept_agent(listener);
    CHECK(c >= 0, "the agent connects for the next good generation");
    if (c < 0)
        return 1;
    check_hello(c, &four, 3); /* generation 3 was not applied: the first HELLO after it is generation 4's */
    check_state("02:00:00:00:00:04", "198.18.4.4", "198.18.4.1", "sb-four", "198.19.7.9");
    close(c);
    close(listener);

    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
