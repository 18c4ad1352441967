/* Finding and mapping the identity page. In a VM it is guest-physical memory, read through
 * /dev/mem at the address the kernel command line gives (`hostd.identity=0x...`, default
 * IDENTITY_ADDR); on the host (tests) it is an ordinary file. Either way the mapping is shared,
 * so a clone's new page is seen without remapping. mmap, not read(): with CONFIG_STRICT_DEVMEM,
 * read() of /dev/mem shows e820 RAM below 1 MiB as zeros, while mmap of the low 1 MiB is allowed
 * (for the BIOS area); RAM above 1 MiB is refused either way (mmap fails with EPERM). */
#ifndef HOSTD_LINUX_IDPAGE_H
#define HOSTD_LINUX_IDPAGE_H
#include <stddef.h>
#include <stdint.h>

#include "abi.h"

#define IDPAGE_CMDLINE_KEY "hostd.identity="

/* The identity page address from a kernel command line: IDENTITY_ADDR when the key is absent.
 * Returns 0 and sets *addr, or -1 (with *why) if the value is not a hex number "0x..." that leaves
 * the whole page below 4 GiB. A later occurrence overrides an earlier one, as for the kernel's own
 * parameters. `cmdline` need not be NUL-terminated: len bytes are read. */
int idpage_parse_cmdline(const char *cmdline, size_t len, uint64_t *addr, const char **why);

struct idpage {
    const volatile struct identity_page *page;
    void *map;
    size_t map_len;
};

/* Map IDENTITY_SIZE bytes at `offset` of `path` (/dev/mem, or a file) read-only and shared.
 * Returns 0, or -1 with errno set and *why naming the step. */
int idpage_map(struct idpage *p, const char *path, uint64_t offset, const char **why);
void idpage_unmap(struct idpage *p);

#endif
