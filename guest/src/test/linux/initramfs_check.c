/* Reads the built initramfs back (its own strict newc parser, independent of mkinitramfs) and
 * checks it holds what the kernel and the agent need:
 *   - every entry well-formed (magic, hex fields, NUL-terminated name inside namesize, data inside
 *     the file), a TRAILER!!! at the end, nothing after it but padding;
 *   - no name that is absolute, empty, or has a ".." or "." component; no duplicates;
 *   - canonical form, for reproducibility: entries sorted by name, mtime 0 (or $SOURCE_DATE_EPOCH),
 *     uid/gid 0, inode numbers 1, 2, 3...;
 *   - /init: a static x86-64 ELF executable (ET_EXEC, EM_X86_64, no PT_INTERP, no PT_DYNAMIC), mode 0755;
 *   - /bin/busybox: a static x86-64 ELF; /bin/sh a symlink to it; /dev/console character device 5:1;
 *   - lib/modules/<release>/modules.dep and modules.builtin; every module the agent loads
 *     (MODULES_NEEDED) resolves through them with the agent's own planner, and every planned .ko is
 *     in the archive;
 *   - independently of modules.dep: each archived module's .modinfo "depends=" names only archived
 *     modules, and its "vermagic=" starts with <release>.
 *   initramfs-check <initramfs.cpio> */
#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "modules.h"

#include "check.h"

struct entry {
    char *name;
    uint32_t ino, mode, uid, gid, mtime, rdev_major, rdev_minor;
    const uint8_t *data;
    uint32_t len;
};

static struct entry entries[4096];
static int n;

static int hex8(const uint8_t *p, uint32_t *out) {
    uint32_t v = 0;
    for (int i = 0; i < 8; i++) {
        int c = p[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else
            return -1;
        v = v << 4 | (uint32_t)d;
    }
    *out = v;
    return 0;
}

static size_t pad4(size_t x) { return (x + 3) & ~(size_t)3; }

/* Returns NULL, or what is wrong with the archive. */
static const char *parse(const uint8_t *b, size_t len) {
    size_t off = 0;
    for (;;) {
        if (len - off < 110)
            return "truncated header";
        if (memcmp(b + off, "070701", 6))
            return "bad magic (not newc)";
        uint32_t f[13];
        for (int i = 0; i < 13; i++)
            if (hex8(b + off + 6 + 8 * i, &f[i]))
                return "bad hex field";
        uint32_t namesize = f[11], filesize = f[6];
        if (namesize == 0 || namesize > 4096 || len - off - 110 < namesize)
            return "bad name size";
        const char *name = (const char *)b + off + 110;
        if (name[namesize - 1] != 0 || strlen(name) != namesize - 1)
            return "name not NUL-terminated at namesize";
        size_t data = pad4(off + 110 + namesize);
        if (data > len || filesize > len - data)
            return "data beyond the end of the file";
        if (!strcmp(name, "TRAILER!!!")) {
            for (size_t k = pad4(data + filesize); k < len; k++)
                if (b[k])
                    return "bytes after the trailer";
            return NULL;
        }
        if (n == (int)(sizeof entries / sizeof entries[0]))
            return "too many entries";
        entries[n++] = (struct entry){.name = strdup(name), .ino = f[0], .mode = f[1], .uid = f[2], .gid = f[3],
                                      .mtime = f[5], .rdev_major = f[9], .rdev_minor = f[10],
                                      .data = b + data, .len = filesize};
        off = pad4(data + filesize);
    }
}

static const struct entry *find(const char *name) {
    for (int i = 0; i < n; i++)
        if (!strcmp(entries[i].name, name))
            return &entries[i];
    return NULL;
}

static int bad_name(const char *s) {
    if (!*s || *s == '/')
        return 1;
    for (const char *c = s; *c;) {
        const char *e = strchr(c, '/');
        size_t l = e ? (size_t)(e - c) : strlen(c);
        if (l == 0 || (l == 1 && c[0] == '.') || (l == 2 && c[0] == '.' && c[1] == '.'))
            return 1;
        c += l + (e ? 1 : 0);
    }
    return 0;
}

/* A static x86-64 executable: ET_EXEC, EM_X86_64, no PT_INTERP, no PT_DYNAMIC. */
static const char *static_elf(const struct entry *e) {
    Elf64_Ehdr h;
    if (e->len < sizeof h)
        return "shorter than an ELF header";
    memcpy(&h, e->data, sizeof h);
    if (memcmp(h.e_ident, ELFMAG, SELFMAG) || h.e_ident[EI_CLASS] != ELFCLASS64)
        return "not ELF64";
    if (h.e_machine != EM_X86_64)
        return "not x86-64";
    if (h.e_type != ET_EXEC)
        return "not ET_EXEC (a static non-PIE executable)";
    if (h.e_phentsize != sizeof(Elf64_Phdr) || h.e_phoff > e->len ||
        (size_t)h.e_phnum * sizeof(Elf64_Phdr) > e->len - h.e_phoff)
        return "program headers outside the file";
    for (int i = 0; i < h.e_phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, e->data + h.e_phoff + (size_t)i * sizeof ph, sizeof ph);
        if (ph.p_type == PT_INTERP || ph.p_type == PT_DYNAMIC)
            return "dynamically linked";
    }
    return NULL;
}

/* A string "key=value" from a module's .modinfo, or NULL. */
static char *modinfo(const struct entry *e, const char *key) {
    Elf64_Ehdr h;
    if (e->len < sizeof h)
        return NULL;
    memcpy(&h, e->data, sizeof h);
    if (memcmp(h.e_ident, ELFMAG, SELFMAG) || h.e_shentsize != sizeof(Elf64_Shdr) || h.e_shoff > e->len ||
        (size_t)h.e_shnum * sizeof(Elf64_Shdr) > e->len - h.e_shoff || h.e_shstrndx >= h.e_shnum)
        return NULL;
    Elf64_Shdr str;
    memcpy(&str, e->data + h.e_shoff + (size_t)h.e_shstrndx * sizeof str, sizeof str);
    size_t klen = strlen(key);
    for (int i = 0; i < h.e_shnum; i++) {
        Elf64_Shdr sh;
        memcpy(&sh, e->data + h.e_shoff + (size_t)i * sizeof sh, sizeof sh);
        if (str.sh_offset > e->len || sh.sh_name >= e->len - str.sh_offset)
            continue;
        const char *nm = (const char *)e->data + str.sh_offset + sh.sh_name;
        size_t room = e->len - str.sh_offset - sh.sh_name;
        if (strnlen(nm, room) == room || strcmp(nm, ".modinfo") || sh.sh_offset > e->len ||
            sh.sh_size > e->len - sh.sh_offset)
            continue;
        const char *s = (const char *)e->data + sh.sh_offset, *end = s + sh.sh_size;
        while (s < end) {
            size_t l = strnlen(s, (size_t)(end - s));
            if (l > klen && !memcmp(s, key, klen) && s[klen] == '=')
                return strndup(s + klen + 1, l - klen - 1);
            s += l + 1;
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: initramfs-check <initramfs.cpio>\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        printf("FAIL: cannot open %s\n", argv[1]);
        return 1;
    }
    struct stat st;
    fstat(fileno(f), &st);
    uint8_t *b = malloc((size_t)st.st_size);
    size_t len = fread(b, 1, (size_t)st.st_size, f);
    fclose(f);
    const char *err = parse(b, len);
    CHECK(!err, "%s parses as newc cpio: %s", argv[1], err ? err : "");
    CHECK(n > 10, "%d entries", n);

    const char *sde = getenv("SOURCE_DATE_EPOCH");
    uint32_t mtime = sde ? (uint32_t)strtoul(sde, NULL, 10) : 0;
    int names_ok = 1, canonical = 1, unique = 1;
    for (int i = 0; i < n; i++) {
        if (bad_name(entries[i].name)) {
            names_ok = 0;
            printf("FAIL: bad entry name '%s'\n", entries[i].name);
        }
        if (i && strcmp(entries[i - 1].name, entries[i].name) >= 0)
            unique = 0;
        if (entries[i].mtime != mtime || entries[i].uid || entries[i].gid || entries[i].ino != (uint32_t)i + 1)
            canonical = 0;
    }
    CHECK(names_ok, "no absolute, empty, '.' or '..' names");
    CHECK(unique, "entries sorted by name, no duplicates");
    CHECK(canonical, "mtime %u, uid/gid 0, inodes 1..%d", mtime, n);

    const struct entry *init = find("init");
    CHECK(init && S_ISREG(init->mode) && (init->mode & 07777) == 0755, "/init is a regular file, mode 0755");
    const char *why = init ? static_elf(init) : "missing";
    CHECK(init && !why, "/init is a static x86-64 ELF: %s", why ? why : "");
    const struct entry *bb = find("bin/busybox");
    why = bb ? static_elf(bb) : "missing";
    CHECK(bb && S_ISREG(bb->mode) && !why, "/bin/busybox is a static x86-64 ELF: %s", why ? why : "");
    const struct entry *sh = find("bin/sh");
    CHECK(sh && S_ISLNK(sh->mode) && sh->len == 12 && !memcmp(sh->data, "/bin/busybox", 12), "/bin/sh -> /bin/busybox");
    const struct entry *con = find("dev/console");
    CHECK(con && S_ISCHR(con->mode) && con->rdev_major == 5 && con->rdev_minor == 1, "/dev/console is char 5:1");
    CHECK(find("proc") && find("sys") && S_ISDIR(find("proc")->mode), "mount points /proc, /sys");

    /* The release directory: lib/modules/<release>/modules.dep */
    char release[256] = "", path[512];
    for (int i = 0; i < n; i++) {
        const char *nm = entries[i].name;
        size_t l = strlen(nm);
        if (!strncmp(nm, "lib/modules/", 12) && l > 24 && !strcmp(nm + l - 12, "/modules.dep"))
            snprintf(release, sizeof release, "%.*s", (int)(l - 24), nm + 12);
    }
    CHECK(release[0], "lib/modules/<release>/modules.dep present");
    snprintf(path, sizeof path, "lib/modules/%s/modules.dep", release);
    const struct entry *dep = find(path);
    snprintf(path, sizeof path, "lib/modules/%s/modules.builtin", release);
    const struct entry *bi = find(path);
    CHECK(bi != NULL, "modules.builtin present");
    if (dep && bi) {
        const char *needed[] = MODULES_NEEDED;
        char *plan[MODULES_MAX_PLAN];
        char what[256];
        int k = modules_plan((const char *)dep->data, dep->len, (const char *)bi->data, bi->len, needed,
                             MODULES_NEEDED_COUNT, plan, MODULES_MAX_PLAN, &why, what, sizeof what);
        CHECK(k > 0, "the agent's modules resolve: %s %s", k < 0 ? why : "", k < 0 ? what : "");
        for (int i = 0; i < k; i++) {
            snprintf(path, sizeof path, "lib/modules/%s/%s", release, plan[i]);
            const struct entry *ko = find(path);
            CHECK(ko && S_ISREG(ko->mode) && ko->len > 0, "%s in the archive", path);
        }
        for (int i = 0; i < MODULES_NEEDED_COUNT; i++) {
            int there = 0;
            for (int j = 0; j < k; j++) {
                const char *base = strrchr(plan[j], '/');
                base = base ? base + 1 : plan[j];
                there |= strlen(base) == strlen(needed[i]) + 3 && !strncmp(base, needed[i], strlen(needed[i]));
            }
            printf("initramfs-check: %s %s\n", needed[i], there ? "is a module in the archive" : "is built in");
        }
        if (k > 0)
            modules_free_plan(plan, k);
    }

    /* Independently of modules.dep: the archived modules are closed under .modinfo depends=. */
    int kos = 0;
    for (int i = 0; i < n; i++) {
        size_t l = strlen(entries[i].name);
        if (l < 3 || strcmp(entries[i].name + l - 3, ".ko"))
            continue;
        kos++;
        char *deps = modinfo(&entries[i], "depends"), *vermagic = modinfo(&entries[i], "vermagic");
        CHECK(deps != NULL, "%s has depends=", entries[i].name);
        CHECK(vermagic && !strncmp(vermagic, release, strlen(release)) && vermagic[strlen(release)] == ' ',
              "%s vermagic '%s' is for %s", entries[i].name, vermagic ? vermagic : "", release);
        char *save;
        for (char *d = deps ? strtok_r(deps, ",", &save) : NULL; d; d = strtok_r(NULL, ",", &save)) {
            int found = 0;
            for (int j = 0; j < n && !found; j++) {
                const char *base = strrchr(entries[j].name, '/');
                base = base ? base + 1 : entries[j].name;
                size_t bl = strlen(base);
                if (bl != strlen(d) + 3 || strcmp(base + bl - 3, ".ko"))
                    continue;
                found = 1;
                for (size_t c = 0; c < bl - 3; c++)
                    if ((base[c] == '-' ? '_' : base[c]) != (d[c] == '-' ? '_' : d[c]))
                        found = 0;
            }
            CHECK(found, "%s depends on %s, which is in the archive", entries[i].name, d);
        }
        free(deps);
        free(vermagic);
    }
    CHECK(kos > 0 || !dep, "modules present");
    printf("initramfs-check: %s: %d entries, %d modules, release %s\n", argv[1], n, kos, release);
    printf("%d passed, %d failed\n", passed, failed);
    for (int i = 0; i < n; i++)
        free(entries[i].name);
    free(b);
    return failed ? 1 : 0;
}
