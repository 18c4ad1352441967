#include "idpage.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Parses "0x" followed by 1..16 hex digits ending at `end`; rejects anything else. */
static int parse_hex(const char *s, const char *end, uint64_t *out) {
    if (end - s < 3 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || end - s > 2 + 16)
        return -1;
    uint64_t v = 0;
    for (const char *c = s + 2; c < end; c++) {
        int d;
        if (*c >= '0' && *c <= '9')
            d = *c - '0';
        else if (*c >= 'a' && *c <= 'f')
            d = *c - 'a' + 10;
        else if (*c >= 'A' && *c <= 'F')
            d = *c - 'A' + 10;
        else
            return -1;
        v = v << 4 | (uint64_t)d;
    }
    *out = v;
    return 0;
}

int idpage_parse_cmdline(const char *cmdline, size_t len, uint64_t *addr, const char **why) {
    const size_t keylen = sizeof IDPAGE_CMDLINE_KEY - 1;
    uint64_t found = IDENTITY_ADDR;
    size_t i = 0;
    while (i < len) {
        while (i < len && (cmdline[i] == ' ' || cmdline[i] == '\t' || cmdline[i] == '\n'))
            i++;
        size_t start = i;
        while (i < len && cmdline[i] != ' ' && cmdline[i] != '\t' && cmdline[i] != '\n' && cmdline[i])
            i++;
        if (i < len && cmdline[i] == 0)
            len = i; /* a NUL ends the line */
        if (i - start >= keylen && !memcmp(cmdline + start, IDPAGE_CMDLINE_KEY, keylen)) {
            uint64_t v;
            if (parse_hex(cmdline + start + keylen, cmdline + i, &v)) {
                *why = "hostd.identity= is not a hex address 0x...";
                return -1;
            }
            if (v > (1ull << 32) - IDENTITY_SIZE) {
                *why = "hostd.identity= is not below 4 GiB";
                return -1;
            }
            found = v;
        }
    }
    *addr = found;
    return 0;
}

int idpage_map(struct idpage *p, const char *path, uint64_t offset, const char **why) {
    memset(p, 0, sizeof *p);
    long pagesz = sysconf(_SC_PAGESIZE);
    uint64_t base = offset & ~(uint64_t)(pagesz - 1);
    size_t len = (size_t)(offset - base) + IDENTITY_SIZE;
    /* O_SYNC is not needed: the VMM writes the page while every vCPU is stopped. */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *why = "open";
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size < offset + IDENTITY_SIZE) {
        close(fd); /* a short file would fault (SIGBUS) on first read */
        errno = EINVAL;
        *why = "file shorter than the identity page";
        return -1;
    }
    void *m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, (off_t)base);
    int err = errno;
    close(fd);
    if (m == MAP_FAILED) {
        errno = err;
        *why = "mmap";
        return -1;
    }
    p->map = m;
    p->map_len = len;
    p->page = (const volatile struct identity_page *)((uint8_t *)m + (offset - base));
    return 0;
}

void idpage_unmap(struct idpage *p) {
    if (p->map)
        munmap(p->map, p->map_len);
    memset(p, 0, sizeof *p);
}
