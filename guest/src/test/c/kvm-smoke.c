// kvm-smoke: boot the test guest on bare KVM, the way the VMM will (guest-abi.md), with a tiny
// emulated virtio-mmio vsock device and a scripted host agent on port 1024.
//
//   gcc -O2 -Wall -o kvm-smoke kvm-smoke.c && ./kvm-smoke hostd-test-guest.elf [nodev|vsock|vsock-notify]
//
// nodev:        device_count 0; the guest must print its banner and panic with PANIC_NO_VSOCK.
// vsock:        the device sets VIRTQ_USED_F_NO_NOTIFY on rx/event; runs the whole agent script:
//               HELLO, INVOKEs (echo, 1 MiB sha256, a 300 KiB echo through a 96 KiB host buffer,
//               identity, touch, spin, unknown, oversized), then a "clone": a new identity
//               generation written while the guest waits, counting exits until it waits again,
//               then a host REQUEST that must be refused with RST.
// vsock-notify: the same with notifications enabled on every queue.
// Environment: SMOKE_QMAX=n offers QueueNumMax n (small queues), SMOKE_PKT=n sends host data in
// n-byte packets (frames split across packets).
// Exit status 0 if every check passed.
#define _GNU_SOURCE
#include <elf.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "abi.h"
#include "sha256.h"
#include "virtio_mmio.h"
#include "virtq.h"
#include "vsock.h"

#define MEM (64ull << 20)
#define MMIO_BASE 0xD0000000ull
#define HOST_BUF_ALLOC (96u << 10)
static uint32_t QMAX = 256; /* SMOKE_QMAX: QueueNumMax offered */

static uint8_t *mem;
static int failures;
static void die(const char *m) { perror(m); exit(2); }
static void fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("SMOKE FAIL: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    failures++;
}
#define EXPECT(c, ...) do { if (!(c)) fail(__VA_ARGS__); } while (0)

/* ---------------- virtio-mmio device ---------------- */
static int no_notify_rx = 1;
static uint32_t status, dev_feat_sel, drv_feat_sel, drv_feat[2], queue_sel;
static struct q { uint32_t num, ready; uint64_t desc, driver, device; uint16_t last_avail, used_idx; } qs[3];

static void *gpa(uint64_t a, uint64_t len) {
    if (a + len > MEM) { fail("guest address 0x%llx+%llu outside RAM", (unsigned long long)a, (unsigned long long)len); exit(1); }
    return mem + a;
}
static uint16_t avail_idx(struct q *q) { return *(volatile uint16_t *)gpa(q->driver + 2, 2); }
static void used_push(struct q *q, uint32_t id, uint32_t len) {
    uint8_t *u = gpa(q->device, 4 + 8 * q->num);
    uint32_t *e = (uint32_t *)(u + 4 + 8 * (q->used_idx % q->num));
    e[0] = id; e[1] = len;
    __sync_synchronize();
    *(volatile uint16_t *)(u + 2) = ++q->used_idx;
}
static int pop_chain(struct q *q, uint16_t *head, struct virtq_desc *out, int *n) {
    if (!q->ready || q->last_avail == avail_idx(q)) return 0;
    uint16_t *ring = gpa(q->driver + 4, 2 * q->num);
    *head = ring[q->last_avail++ % q->num];
    struct virtq_desc *dt = gpa(q->desc, 16 * q->num);
    uint16_t i = *head; *n = 0;
    for (;;) {
        if (i >= q->num || *n >= 16) { fail("bad descriptor chain"); exit(1); }
        out[(*n)++] = dt[i];
        if (!(dt[i].flags & VIRTQ_DESC_F_NEXT)) break;
        i = dt[i].next;
    }
    return 1;
}

/* ---------------- host side of vsock ---------------- */
struct pkt { struct virtio_vsock_hdr h; uint8_t *data; };
static struct pkt ctlq[64]; static int nctl;
static uint8_t *hout; static size_t hout_len, hout_sent;   /* host->guest stream */
static uint8_t *hin; static size_t hin_len, hin_parsed;     /* guest->host stream */
static int connected; static uint32_t gport;
static uint32_t g_buf_alloc, g_fwd_cnt, host_rx_cnt, host_fwd_adv;
static uint32_t tx_packets, rx_packets, credit_requests, rst_seen, hellos;
static struct identity_report last_hello;
static uint32_t pkt_limit = VSOCK_MAX_PAYLOAD; /* host RW payload size: varied to split frames */

static void ctl(uint16_t op, uint32_t sport, uint32_t dport) {
    struct pkt *p = &ctlq[nctl++];
    memset(p, 0, sizeof *p);
    p->h = (struct virtio_vsock_hdr){.src_cid = 2, .dst_cid = 3, .src_port = sport, .dst_port = dport,
                                     .type = 1, .op = op, .buf_alloc = HOST_BUF_ALLOC, .fwd_cnt = host_fwd_adv};
}
static void host_send(const void *p, size_t n) {
    hout = realloc(hout, hout_len + n);
    memcpy(hout + hout_len, p, n);
    hout_len += n;
}
static void frame_out(uint16_t type, uint64_t id, const void *p, uint32_t n) {
    struct frame_hdr h = {.len = n, .type = type, .request_id = id};
    host_send(&h, sizeof h);
    if (n) host_send(p, n);
}
static void invoke(uint64_t id, const char *name, const void *arg, uint32_t n) {
    uint8_t *b = malloc(1 + strlen(name) + n + 1);
    b[0] = (uint8_t)strlen(name);
    memcpy(b + 1, name, b[0]);
    if (n) memcpy(b + 1 + b[0], arg, n);
    frame_out(FRAME_INVOKE, id, b, 1 + b[0] + n);
    free(b);
}

/* Write one packet into the next rx chain; 0 if the guest has no rx buffer posted. */
static int rx_put(const struct virtio_vsock_hdr *h, const uint8_t *data) {
    struct virtq_desc d[16]; uint16_t head; int n;
    if (!pop_chain(&qs[0], &head, d, &n)) return 0;
    uint32_t total = VSOCK_HDR_SIZE + h->len, off = 0;
    for (int i = 0; i < n && off < total; i++) {
        if (!(d[i].flags & VIRTQ_DESC_F_WRITE)) { fail("rx descriptor not writable"); exit(1); }
        uint32_t take = d[i].len < total - off ? d[i].len : total - off;
        uint8_t *dst = gpa(d[i].addr, take);
        for (uint32_t k = 0; k < take; k++, off++)
            dst[k] = off < VSOCK_HDR_SIZE ? ((const uint8_t *)h)[off] : data[off - VSOCK_HDR_SIZE];
    }
    if (off < total) { fail("rx buffer too small for %u bytes", total); exit(1); }
    used_push(&qs[0], head, total);
    rx_packets++;
    return 1;
}

static void deliver(void) {
    while (nctl) {
        if (!rx_put(&ctlq[0].h, ctlq[0].data)) return;
        memmove(ctlq, ctlq + 1, --nctl * sizeof *ctlq);
    }
    while (connected && hout_sent < hout_len) {
        uint32_t credit = g_buf_alloc - (uint32_t)(hout_sent - g_fwd_cnt);
        uint32_t n = hout_len - hout_sent;
        if (n > credit) n = credit;
        if (n > pkt_limit) n = pkt_limit;
        if (!n) return;
        struct virtio_vsock_hdr h = {.src_cid = 2, .dst_cid = 3, .src_port = 1024, .dst_port = gport, .len = n,
                                     .type = 1, .op = VSOCK_OP_RW, .buf_alloc = HOST_BUF_ALLOC, .fwd_cnt = host_fwd_adv};
        if (!rx_put(&h, hout + hout_sent)) return;
        hout_sent += n;
    }
}

/* ---------------- the script ---------------- */
enum { S_BOOT, S_INVOKES, S_CLONE, S_REFUSE, S_DONE };
static int phase = S_BOOT;
static uint64_t next_expect = 1, last_id;
static uint8_t big[1 << 20];
static uint32_t spin_ms = 10;
static uint64_t tsc_khz;
/* CPU time of this thread, which runs the vCPU, since the program started: unlike the TSC it does not move while
 * the host is busy elsewhere. */
static uint64_t thread_cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void start_invokes(void) {
    uint64_t id = 1;
    invoke(id++, "echo", "hello", 5);
    invoke(id++, "sha256", big, AGENT_MAX_PAYLOAD - 7);
    invoke(id++, "echo", big, 300 << 10);
    invoke(id++, "identity", NULL, 0);
    uint32_t mib = 8;
    invoke(id++, "touch", &mib, 4);
    invoke(id++, "spin", &spin_ms, 4);
    invoke(id++, "frobnicate", NULL, 0);
    struct frame_hdr over = {.len = AGENT_MAX_PAYLOAD + 1, .type = FRAME_INVOKE, .request_id = id++};
    host_send(&over, sizeof over);                              /* header... */
    hout = realloc(hout, hout_len + AGENT_MAX_PAYLOAD + 1);     /* ...then 1 MiB+1 of zeros */
    memset(hout + hout_len, 0, AGENT_MAX_PAYLOAD + 1);
    hout_len += AGENT_MAX_PAYLOAD + 1;
    invoke(id++, "echo", "tail", 4);
    last_id = id - 1;
}

static void check_result(uint64_t id, uint32_t st, const uint8_t *p, uint32_t n) {
    uint8_t d[32];
    EXPECT(id == next_expect, "RESULT id %llu, expected %llu", (unsigned long long)id, (unsigned long long)next_expect);
    next_expect = id + 1;
    switch (id) {
    case 1: EXPECT(st == 0 && n == 5 && !memcmp(p, "hello", 5), "echo hello"); break;
    case 2: sha256(big, AGENT_MAX_PAYLOAD - 7, d); EXPECT(st == 0 && n == 32 && !memcmp(p, d, 32), "sha256 1 MiB"); break;
    case 3: EXPECT(st == 0 && n == (300 << 10) && !memcmp(p, big, n), "echo 300 KiB"); break;
    case 4: EXPECT(st == 0 && n == sizeof last_hello && !memcmp(p, &last_hello, n), "identity == HELLO report"); break;
    case 5: { uint64_t v; memcpy(&v, p, 8); EXPECT(st == 0 && n == 8 && v == 2048, "touch 8 MiB -> %llu pages", (unsigned long long)v); break; }
    case 6: { uint64_t v; memcpy(&v, p, 8);
              /* The guest spun at least spin_ms on its TSC. That it did not spin far longer (a tick-unit mistake) is
               * checked on CPU time, not on the TSC: a host busy elsewhere can stall this thread for any time while
               * the TSC runs on, but cannot make it burn CPU. The whole script up to here (boot, 1 MiB of sha256,
               * the spin) takes well under 100 ms of CPU; a spin 100 times too long alone takes a second. */
              uint64_t cpu_ns = thread_cpu_ns();
              EXPECT(st == 0 && n == 8 && v >= spin_ms * tsc_khz && cpu_ns < 100ull * spin_ms * 1000000ull,
                     "spin %u ms -> %llu ticks, %llu us of CPU", spin_ms, (unsigned long long)v, (unsigned long long)(cpu_ns / 1000));
              break; }
    case 7: EXPECT(st == 1 && n == 0, "unknown function -> status %u", st); break;
    case 8: EXPECT(st == 3 && n == 0, "oversized -> status %u", st); break;
    case 9: EXPECT(st == 0 && n == 4 && !memcmp(p, "tail", 4), "echo after oversized"); break;
    default: fail("unexpected RESULT id %llu", (unsigned long long)id);
    }
    printf("  RESULT %llu: status %u, %u bytes\n", (unsigned long long)id, st, n);
}

static void host_frames(void) {
    while (hin_len - hin_parsed >= 16) {
        struct frame_hdr h;
        memcpy(&h, hin + hin_parsed, 16);
        if (hin_len - hin_parsed < 16 + (size_t)h.len) return;
        const uint8_t *p = hin + hin_parsed + 16;
        hin_parsed += 16 + h.len;
        if (h.type == FRAME_HELLO) {
            hellos++;
            EXPECT(h.len == sizeof last_hello, "HELLO length %u", h.len);
            memcpy(&last_hello, p, sizeof last_hello);
            const struct identity_page *ip = gpa(IDENTITY_ADDR, 4096);
            uint8_t d[32];
            sha256(ip->seed, 32, d);
            EXPECT(!memcmp(&last_hello.page, ip, 0xE8) && !memcmp(last_hello.page.seed, d, 32) &&
                   last_hello.page.wall_clock_ns == ip->wall_clock_ns, "HELLO carries the identity page, seed hashed");
            EXPECT(last_hello.agent_version == 1 && last_hello.identities_seen == hellos,
                   "HELLO identities_seen %u (hello #%u)", last_hello.identities_seen, hellos);
            printf("  HELLO #%u: generation %llu, hostname %s, identities_seen %u\n", hellos,
                   (unsigned long long)last_hello.page.generation, last_hello.page.hostname, last_hello.identities_seen);
            if (phase == S_BOOT) { phase = S_INVOKES; start_invokes(); }
            else if (phase == S_CLONE) {
                phase = S_REFUSE; /* at the next wait: a host REQUEST nobody in the guest listens to */
            }
        } else if (h.type == FRAME_RESULT) {
            uint32_t st; memcpy(&st, p, 4);
            check_result(h.request_id, st, p + 4, h.len - 4);
        } else fail("frame type %u from guest", h.type);
    }
}

static void host_packet(const struct virtio_vsock_hdr *h, const uint8_t *data) {
    tx_packets++;
    EXPECT(h->src_cid == 3 && h->type == 1, "tx header: src_cid %llu type %u", (unsigned long long)h->src_cid, h->type);
    if (h->dst_port != 1024 || h->dst_cid != 2) {
        if (h->op == VSOCK_OP_RST && h->dst_port == 5555 && h->src_port == 7777) {
            rst_seen++;
            if (phase == S_REFUSE) phase = S_DONE;
        } else fail("packet op %u to port %u", h->op, h->dst_port);
        return;
    }
    if (h->op == VSOCK_OP_REQUEST) {
        gport = h->src_port; connected = 1;
        hout_len = hout_sent = 0; hin_len = hin_parsed = 0; host_rx_cnt = host_fwd_adv = 0;
        g_buf_alloc = h->buf_alloc; g_fwd_cnt = h->fwd_cnt;
        ctl(VSOCK_OP_RESPONSE, 1024, gport);
        return;
    }
    EXPECT(connected && h->src_port == gport, "packet op %u for a connection we do not know (port %u)", h->op, h->src_port);
    g_buf_alloc = h->buf_alloc; g_fwd_cnt = h->fwd_cnt;
    EXPECT(h->buf_alloc == VSOCK_BUF_ALLOC, "guest buf_alloc %u", h->buf_alloc);
    switch (h->op) {
    case VSOCK_OP_RW:
        EXPECT(host_rx_cnt + h->len - host_fwd_adv <= HOST_BUF_ALLOC, "guest overran host credit");
        hin = realloc(hin, hin_len + h->len);
        memcpy(hin + hin_len, data, h->len);
        hin_len += h->len; host_rx_cnt += h->len;
        host_frames();
        break;
    case VSOCK_OP_CREDIT_REQUEST:
        credit_requests++;
        host_fwd_adv = host_rx_cnt; /* the host consumed everything; tell the guest only now */
        ctl(VSOCK_OP_CREDIT_UPDATE, 1024, gport);
        break;
    case VSOCK_OP_CREDIT_UPDATE: break;
    default: fail("unexpected op %u from guest", h->op);
    }
}

static void process_tx(void) {
    struct virtq_desc d[16]; uint16_t head; int n;
    static uint8_t buf[VSOCK_BUF_SIZE];
    while (pop_chain(&qs[1], &head, d, &n)) {
        uint32_t len = 0;
        for (int i = 0; i < n; i++) {
            if (d[i].flags & VIRTQ_DESC_F_WRITE) { fail("tx descriptor writable"); exit(1); }
            if (len + d[i].len > sizeof buf) { fail("tx packet too big"); exit(1); }
            memcpy(buf + len, gpa(d[i].addr, d[i].len), d[i].len);
            len += d[i].len;
        }
        struct virtio_vsock_hdr h;
        memcpy(&h, buf, sizeof h);
        EXPECT(len == VSOCK_HDR_SIZE + h.len && h.len <= VSOCK_MAX_PAYLOAD, "tx length %u vs header %u", len, h.len);
        used_push(&qs[1], head, 0);
        host_packet(&h, buf + VSOCK_HDR_SIZE);
    }
}

/* ---------------- MMIO ---------------- */
static uint64_t notifies[3], mmio_exits;
static uint32_t mmio_read(uint32_t off) {
    struct q *q = &qs[queue_sel < 3 ? queue_sel : 0];
    switch (off) {
    case VIRTIO_MMIO_MAGIC_VALUE: return VIRTIO_MMIO_MAGIC;
    case VIRTIO_MMIO_VERSION: return 2;
    case VIRTIO_MMIO_DEVICE_ID: return 19;
    case VIRTIO_MMIO_VENDOR_ID: return 0x554d4551;
    case VIRTIO_MMIO_DEVICE_FEATURES: return dev_feat_sel == 1 ? 1 : 0;
    case VIRTIO_MMIO_QUEUE_NUM_MAX: return queue_sel < 3 ? QMAX : 0;
    case VIRTIO_MMIO_QUEUE_READY: return q->ready;
    case VIRTIO_MMIO_STATUS: return status;
    case VIRTIO_MMIO_CONFIG_GENERATION: return 0;
    case VIRTIO_MMIO_CONFIG: return 3;
    case VIRTIO_MMIO_CONFIG + 4: return 0;
    }
    fail("read of mmio register 0x%x", off);
    return 0;
}
static void mmio_write(uint32_t off, uint32_t v) {
    struct q *q = &qs[queue_sel < 3 ? queue_sel : 0];
    switch (off) {
    case VIRTIO_MMIO_DEVICE_FEATURES_SEL: dev_feat_sel = v; return;
    case VIRTIO_MMIO_DRIVER_FEATURES_SEL: drv_feat_sel = v; return;
    case VIRTIO_MMIO_DRIVER_FEATURES: if (drv_feat_sel < 2) drv_feat[drv_feat_sel] = v; return;
    case VIRTIO_MMIO_QUEUE_SEL: queue_sel = v; return;
    case VIRTIO_MMIO_QUEUE_NUM: q->num = v; return;
    case VIRTIO_MMIO_QUEUE_DESC_LOW: q->desc = (q->desc & ~0xffffffffull) | v; return;
    case VIRTIO_MMIO_QUEUE_DESC_HIGH: q->desc = (q->desc & 0xffffffffull) | (uint64_t)v << 32; return;
    case VIRTIO_MMIO_QUEUE_DRIVER_LOW: q->driver = (q->driver & ~0xffffffffull) | v; return;
    case VIRTIO_MMIO_QUEUE_DRIVER_HIGH: q->driver = (q->driver & 0xffffffffull) | (uint64_t)v << 32; return;
    case VIRTIO_MMIO_QUEUE_DEVICE_LOW: q->device = (q->device & ~0xffffffffull) | v; return;
    case VIRTIO_MMIO_QUEUE_DEVICE_HIGH: q->device = (q->device & 0xffffffffull) | (uint64_t)v << 32; return;
    case VIRTIO_MMIO_QUEUE_READY:
        q->ready = v;
        if (v && no_notify_rx && queue_sel != 1) *(uint16_t *)gpa(q->device, 2) = VIRTQ_USED_F_NO_NOTIFY;
        return;
    case VIRTIO_MMIO_STATUS:
        if (v == 0) { memset(qs, 0, sizeof qs); status = 0; return; }
        if ((v & VIRTIO_STATUS_FEATURES_OK) && !(status & VIRTIO_STATUS_FEATURES_OK))
            EXPECT(drv_feat[0] == 0 && drv_feat[1] == 1, "driver features %x:%x", drv_feat[1], drv_feat[0]);
        status = v; return;
    case VIRTIO_MMIO_QUEUE_NOTIFY:
        if (v > 2) { fail("notify of queue %u", v); return; }
        notifies[v]++;
        EXPECT(status & VIRTIO_STATUS_DRIVER_OK, "notify before DRIVER_OK");
        if (v == 1) process_tx();
        deliver();
        return;
    }
    fail("write of mmio register 0x%x = 0x%x", off, v);
}

/* ---------------- VM ---------------- */
int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s guest.elf [nodev|vsock|vsock-notify]\n", argv[0]); return 2; }
    const char *mode = argc > 2 ? argv[2] : "vsock";
    int with_dev = strcmp(mode, "nodev") != 0;
    no_notify_rx = !strcmp(mode, "vsock");
    if (getenv("SMOKE_QMAX")) QMAX = atoi(getenv("SMOKE_QMAX"));
    if (getenv("SMOKE_PKT")) pkt_limit = atoi(getenv("SMOKE_PKT")); /* host RW payload size */
    for (size_t i = 0; i < sizeof big; i++) big[i] = (uint8_t)(i * 131 + (i >> 9));

    int fd = open(argv[1], O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) die(argv[1]);
    uint8_t *elf = malloc(st.st_size);
    if (read(fd, elf, st.st_size) != st.st_size) die("read elf");
    Elf64_Ehdr *eh = (Elf64_Ehdr *)elf;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_type != ET_EXEC || eh->e_machine != EM_X86_64) { fprintf(stderr, "not an x86-64 ET_EXEC\n"); return 2; }

    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0) die("/dev/kvm");
    int mfd = memfd_create("guest", MFD_CLOEXEC);
    if (mfd < 0 || ftruncate(mfd, MEM) < 0) die("memfd");
    mem = mmap(0, MEM, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
    if (mem == MAP_FAILED) die("mmap");

    uint64_t end = 0;
    for (int i = 0; i < eh->e_phnum; i++) {
        Elf64_Phdr *ph = (Elf64_Phdr *)(elf + eh->e_phoff + i * eh->e_phentsize);
        if (ph->p_type != PT_LOAD) continue;
        if (ph->p_paddr < 0x100000 || ph->p_paddr + ph->p_memsz > MEM) { fprintf(stderr, "segment out of range\n"); return 2; }
        memcpy(mem + ph->p_paddr, elf + ph->p_offset, ph->p_filesz);
        if (ph->p_paddr + ph->p_memsz > end) end = ph->p_paddr + ph->p_memsz;
    }
    uint64_t heap_start = (end + 4095) & ~4095ull;

    uint64_t *pml4 = (void *)(mem + 0x1000), *pdpt = (void *)(mem + 0x2000), *pd = (void *)(mem + 0x3000), *pd3 = (void *)(mem + 0x6000);
    pml4[0] = 0x2000 | 7;
    pdpt[0] = 0x3000 | 7;
    pdpt[3] = 0x6000 | 7;
    for (uint64_t i = 0; i < MEM / 0x200000; i++) pd[i] = (i * 0x200000) | 0x87;
    for (uint64_t i = 0; i < 512; i++) pd3[i] = (0xC0000000ull + i * 0x200000) | 0x87;
    uint64_t *gdt = (void *)(mem + 0x500);
    gdt[1] = 0x00af9b000000ffffULL; gdt[2] = 0x00cf93000000ffffULL;
    gdt[3] = 0x00affb000000ffffULL; gdt[4] = 0x00cff3000000ffffULL;

    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0) die("KVM_CREATE_VM");
    struct kvm_userspace_memory_region r = {.slot = 0, .memory_size = MEM, .userspace_addr = (uint64_t)mem};
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r) < 0) die("SET_USER_MEMORY_REGION");
    int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    if (vcpu < 0) die("KVM_CREATE_VCPU");
    int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    struct kvm_run *run = mmap(0, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    static struct { struct kvm_cpuid2 c; struct kvm_cpuid_entry2 e[256]; } cpuid = {.c.nent = 256};
    if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, &cpuid) < 0 || ioctl(vcpu, KVM_SET_CPUID2, &cpuid) < 0) die("CPUID");
    long khz = ioctl(vcpu, KVM_GET_TSC_KHZ, 0);
    tsc_khz = khz > 0 ? (uint64_t)khz : 0;

    struct boot_info *bi = (void *)(mem + BOOT_INFO_ADDR);
    *bi = (struct boot_info){.magic = BOOT_INFO_MAGIC, .version = 1, .size = BOOT_INFO_SIZE, .ram_size = MEM,
                             .identity_addr = IDENTITY_ADDR, .tsc_khz = tsc_khz, .heap_start = heap_start,
                             .device_count = with_dev ? 1 : 0};
    bi->devices[0] = (struct boot_device){.mmio_base = MMIO_BASE, .mmio_size = 0x1000, .virtio_device_id = 19};
    struct identity_page *ip = (void *)(mem + IDENTITY_ADDR);
    *ip = (struct identity_page){.magic = IDENTITY_MAGIC, .version = 1, .size = IDENTITY_SIZE, .generation = 1,
                                 .mac = {2, 0, 0, 0, 0, 1}, .ipv4 = {10, 0, 0, 2}, .prefix_len = 24, .gateway = {10, 0, 0, 1},
                                 .wall_clock_ns = 1700000000000000000ull};
    strcpy(ip->hostname, "template"); strcpy(ip->sandbox_id, "sb-template"); strcpy(ip->tenant_id, "t0");
    for (int i = 0; i < 32; i++) ip->seed[i] = (uint8_t)i;

    struct kvm_sregs s;
    if (ioctl(vcpu, KVM_GET_SREGS, &s) < 0) die("GET_SREGS");
    struct kvm_segment seg = {.limit = 0xffffffff, .selector = 0x1b, .present = 1, .type = 11, .dpl = 3, .s = 1, .l = 1, .g = 1};
    s.cs = seg;
    seg.type = 3; seg.selector = 0x23; seg.l = 0; seg.db = 1;
    s.ds = s.es = s.fs = s.gs = s.ss = seg;
    s.cr3 = 0x1000; s.cr4 = 0x620; s.cr0 = 0x80000033; s.efer = 0x500;
    s.gdt.base = 0x500; s.gdt.limit = 39;
    if (ioctl(vcpu, KVM_SET_SREGS, &s) < 0) die("SET_SREGS");
    struct kvm_regs regs = {.rip = eh->e_entry, .rdi = BOOT_INFO_ADDR, .rsp = 0, .rflags = 0x3002};
    if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0) die("SET_REGS");

    printf("guest: entry 0x%llx, heap_start 0x%llx, tsc %llu kHz, mode %s\n", (unsigned long long)eh->e_entry,
           (unsigned long long)heap_start, (unsigned long long)tsc_khz, mode);
    uint64_t exits = 0, waits = 0, console = 0, clone_exits = 0, clone_notifies = 0;
    int clone_counting = 0;
    int panic_code = -1;
    for (;;) {
        if (ioctl(vcpu, KVM_RUN, 0) < 0) die("KVM_RUN");
        exits++;
        if (clone_counting) clone_exits++;
        if (run->exit_reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_OUT) {
            uint8_t *d = (uint8_t *)run + run->io.data_offset;
            if (run->io.port == PORT_COM1) {
                console++;
                if (phase >= S_CLONE && phase != S_DONE) fail("console output on the clone path");
                fwrite(d, 1, run->io.size * run->io.count, stdout);
                fflush(stdout);
            } else if (run->io.port == PORT_PANIC) {
                memcpy(&panic_code, d, 4);
                printf("guest panic, code %d\n", panic_code);
                break;
            } else if (run->io.port == PORT_WAIT) {
                waits++;
                /* With rx notifications suppressed, the device fills newly posted rx buffers when
                 * the guest waits (it must not sleep while it has packets and buffers). */
                if (no_notify_rx && (hout_sent < hout_len || nctl)) {
                    int before = rx_packets;
                    deliver();
                    if ((int)rx_packets != before) continue;
                }
                if (hout_sent < hout_len || nctl) fail("guest waits while the host has data for it (deadlock)");
                if (!with_dev) { fail("guest waits without a device"); break; }
                if (phase == S_INVOKES && next_expect > last_id) {
                    /* All results in: "snapshot" here and restore as a clone with a new identity. */
                    printf("template parked after %llu exits; writing identity generation 2\n", (unsigned long long)exits);
                    ip->generation = 2;
                    strcpy(ip->hostname, "clone-1");
                    ip->seed[0] ^= 0xff;
                    phase = S_CLONE;
                    clone_counting = 1; clone_exits = 0;
                    clone_notifies = notifies[0] + notifies[1] + notifies[2];
                } else if (clone_counting && phase == S_REFUSE) {
                    uint64_t nn = notifies[0] + notifies[1] + notifies[2] - clone_notifies;
                    printf("clone: %llu exits (%llu notifies) from restore to HELLO sent and parked\n",
                           (unsigned long long)clone_exits, (unsigned long long)nn);
                    EXPECT(clone_exits == (no_notify_rx ? 3 : 4), "clone path exits %llu", (unsigned long long)clone_exits);
                    clone_counting = 0;
                    ctl(VSOCK_OP_REQUEST, 5555, 7777);
                    deliver(); /* seen by the guest when it wakes up */
                } else if (phase == S_DONE) {
                    break;
                } else if (waits > 10000) { fail("too many waits in phase %d", phase); break; }
            } else { fail("out to port 0x%x", run->io.port); break; }
        } else if (run->exit_reason == KVM_EXIT_IO) {
            fail("in from port 0x%x", run->io.port); break;
        } else if (run->exit_reason == KVM_EXIT_MMIO) {
            mmio_exits++;
            uint64_t a = run->mmio.phys_addr;
            if (a < MMIO_BASE || a >= MMIO_BASE + 0x1000 || run->mmio.len != 4) { fail("mmio at 0x%llx len %u", (unsigned long long)a, run->mmio.len); break; }
            uint32_t v;
            if (run->mmio.is_write) { memcpy(&v, run->mmio.data, 4); mmio_write(a - MMIO_BASE, v); }
            else { v = mmio_read(a - MMIO_BASE); memcpy(run->mmio.data, &v, 4); }
        } else {
            struct kvm_regs rg; ioctl(vcpu, KVM_GET_REGS, &rg);
            fail("exit reason %u at rip 0x%llx", run->exit_reason, (unsigned long long)rg.rip);
            break;
        }
    }
    printf("exits %llu (mmio %llu, console bytes %llu, waits %llu, notifies rx/tx/ev %llu/%llu/%llu); "
           "packets guest->host %u, host->guest %u, credit requests %u, hellos %u, rst %u\n",
           (unsigned long long)exits, (unsigned long long)mmio_exits, (unsigned long long)console, (unsigned long long)waits,
           (unsigned long long)notifies[0], (unsigned long long)notifies[1], (unsigned long long)notifies[2],
           tx_packets, rx_packets, credit_requests, hellos, rst_seen);
    if (!with_dev) {
        EXPECT(panic_code == PANIC_NO_VSOCK, "panic code %d, expected %d", panic_code, PANIC_NO_VSOCK);
    } else {
        EXPECT(panic_code == -1, "guest panicked");
        EXPECT(phase == S_DONE && hellos == 2 && rst_seen == 1 && credit_requests > 0, "script incomplete (phase %d)", phase);
    }
    printf(failures ? "SMOKE FAILED (%d)\n" : "SMOKE OK\n", failures);
    return failures ? 1 : 0;
}
