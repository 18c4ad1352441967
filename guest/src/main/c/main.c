/* The test guest: boot, then connect to the host agent port and serve INVOKEs, forever. */
#include "abi.h"
#include "agent.h"
#include "console.h"
#include "functions.h"
#include "identity.h"
#include "io.h"
#include "net.h"
#include "netfn.h"
#include "vsock.h"

extern char __image_end[];

static struct identity_page ident;   /* the identity as last applied */
static struct identity_report report; /* HELLO payload and `identity` output */
static uint64_t seen_generation;
static uint32_t identities_seen;

static void check_boot_info(const struct boot_info *bi) {
    if ((uintptr_t)bi != BOOT_INFO_ADDR || bi->magic != BOOT_INFO_MAGIC)
        panic(PANIC_BAD_BOOT_INFO, "no boot-info page at 0x%lx", (unsigned long)(uintptr_t)bi);
    if (bi->version != BOOT_INFO_VERSION)
        panic(PANIC_BAD_BOOT_INFO, "boot-info version %u, expected %u", bi->version, BOOT_INFO_VERSION);
    if (bi->device_count > BOOT_INFO_MAX_DEVICES || bi->size < 0x30 + 16 * bi->device_count)
        panic(PANIC_BAD_BOOT_INFO, "boot-info: bad size %u for %u devices", bi->size, bi->device_count);
    if (bi->ram_size > MAX_RAM_BYTES || bi->heap_start > bi->ram_size || (bi->heap_start & 0xfff) ||
        bi->heap_start < (uintptr_t)__image_end)
        panic(PANIC_BAD_BOOT_INFO, "boot-info: bad RAM size 0x%lx or heap start 0x%lx",
              (unsigned long)bi->ram_size, (unsigned long)bi->heap_start);
    if ((bi->identity_addr & 0xfff) || bi->identity_addr + 4096 > bi->ram_size)
        panic(PANIC_BAD_BOOT_INFO, "boot-info: bad identity page address 0x%lx",
              (unsigned long)bi->identity_addr);
}

/* A new identity: forget the old connection (sending nothing on it), apply, reconnect. */
static void apply_identity(const volatile struct identity_page *page) {
    vsock_forget();
    const char *err = identity_read(page, &ident);
    if (err)
        panic(PANIC_BAD_IDENTITY, "identity page: %s", err);
    seen_generation = ident.generation;
    identities_seen++;
    identity_build_report(&ident, identities_seen, &report);
    net_apply_identity(&ident);
    vsock_connect();
}

void main(const struct boot_info *bi) {
    check_boot_info(bi);
    console_printf("hostd-test-guest %u: booted, %lu MiB RAM\n", AGENT_VERSION,
                   (unsigned long)(bi->ram_size >> 20));
    const volatile struct identity_page *page =
        (const volatile struct identity_page *)(uintptr_t)bi->identity_addr;
    functions_init(bi, &report);
    agent_init(&report);
    vsock_init(bi);
    net_init(bi); /* optional: VMs without a network device have none */
    netfn_init(bi);

    /* A snapshot is taken while the guest waits below; clones resume there, so everything a
     * clone must do happens in this loop, without console output. */
    for (;;) {
        int busy = 0;
        uint64_t gen = identity_generation(page);
        if (gen != 0 && gen != seen_generation) {
            apply_identity(page);
            busy = 1;
        } else if (seen_generation != 0 && vsock_wants_connect()) {
            vsock_connect();
            busy = 1;
        }
        busy |= vsock_poll();  /* rx (reposted), events, tx reclaim */
        busy |= agent_poll();  /* HELLO, INVOKE -> RESULT */
        busy |= net_poll();    /* answer ARP and pings to our address */
        busy |= vsock_flush(); /* one notify per queue; the device answers during the exit */
        busy |= net_flush();
        if (!busy) {
            outb(PORT_WAIT, 0);
            vsock_waited();
        }
    }
}
