/* Builds the Linux guest's initramfs, reproducibly (same inputs, same bytes).
 *   mkinitramfs KERNEL_ROOT AGENT BUSYBOX OUT
 * KERNEL_ROOT is an unpacked kernel package (boot/, lib/modules/<release>/). The archive is an
 * uncompressed newc cpio (the kernel's initramfs format; uncompressed so boot skips a decompressor):
 *   /init                      the agent (AGENT)
 *   /bin/busybox               BUSYBOX, and a symlink to it for each applet (`busybox --list-full`)
 *   /dev/console               character device 5:1, the kernel opens it for /init's stdio
 *   /proc /sys /tmp            mount points
 *   /lib/modules/<release>/    the modules the agent loads (modules.h), their dependencies (from
 *                              each .ko's .modinfo "depends="), a modules.dep for exactly those,
 *                              and the package's modules.builtin
 * Entries are sorted by name; mtime is 0 (or $SOURCE_DATE_EPOCH), uid/gid 0, inode numbers count up.
 * OUT is replaced only if its bytes change. */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "modules.h"

static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "mkinitramfs: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f)
        die("%s: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (!b || fread(b, 1, (size_t)n, f) != (size_t)n)
        die("%s: read failed", path);
    b[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* ---- archive entries ---- */

struct entry {
    char *name; /* no leading '/' */
    uint32_t mode;
    uint32_t rdev_major, rdev_minor;
    char *data; /* file contents or symlink target */
    size_t len;
};

static struct entry *entries;
static size_t n_entries, cap_entries;

static struct entry *find_entry(const char *name) {
    for (size_t i = 0; i < n_entries; i++)
        if (!strcmp(entries[i].name, name))
            return &entries[i];
    return NULL;
}

static void add(const char *name, uint32_t mode, char *data, size_t len) {
    if (name[0] == '/' || strstr(name, "..") || !name[0])
        die("refusing entry name '%s'", name);
    if (find_entry(name))
        return; /* first one wins (e.g. a directory made by a parent of several files) */
    if (n_entries == cap_entries) {
        cap_entries = cap_entries ? cap_entries * 2 : 256;
        entries = realloc(entries, cap_entries * sizeof *entries);
        if (!entries)
            die("out of memory");
    }
    entries[n_entries++] = (struct entry){.name = strdup(name), .mode = mode, .data = data, .len = len};
}

/* Adds every parent directory of `path`, then the entry itself. */
static void add_with_parents(const char *name, uint32_t mode, char *data, size_t len) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", name);
    for (char *s = strchr(buf, '/'); s; s = strchr(s + 1, '/')) {
        *s = 0;
        add(buf, S_IFDIR | 0755, NULL, 0);
        *s = '/';
    }
    add(name, mode, data, len);
}

static int by_name(const void *a, const void *b) {
    return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

/* ---- newc cpio ---- */

static void put_header(FILE *f, uint32_t ino, const struct entry *e, uint32_t mtime) {
    uint32_t nlink = S_ISDIR(e->mode) ? 2 : 1;
    fprintf(f, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", ino, e->mode, 0, 0, nlink, mtime,
            (uint32_t)e->len, 0, 0, e->rdev_major, e->rdev_minor, (uint32_t)strlen(e->name) + 1, 0);
    fwrite(e->name, 1, strlen(e->name) + 1, f);
    static const char zeros[4];
    fwrite(zeros, 1, (4 - (110 + strlen(e->name) + 1) % 4) % 4, f);
    if (e->len) {
        fwrite(e->data, 1, e->len, f);
        fwrite(zeros, 1, (4 - e->len % 4) % 4, f);
    }
}

static void write_cpio(const char *out, uint32_t mtime) {
    qsort(entries, n_entries, sizeof *entries, by_name);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", out);
    FILE *f = fopen(tmp, "wb");
    if (!f)
        die("%s: %s", tmp, strerror(errno));
    for (size_t i = 0; i < n_entries; i++)
        put_header(f, (uint32_t)i + 1, &entries[i], mtime);
    struct entry trailer = {.name = "TRAILER!!!", .mode = 0};
    put_header(f, 0, &trailer, 0);
    if (fclose(f) != 0)
        die("%s: write failed", tmp);
    size_t a, b;
    char *new = read_file(tmp, &a);
    struct stat st;
    if (stat(out, &st) == 0) {
        char *old = read_file(out, &b);
        int same = a == b && !memcmp(old, new, a);
        free(old);
        if (same) {
            unlink(tmp);
            free(new);
            printf("initramfs: %s unchanged (%zu entries, %zu bytes)\n", out, n_entries, a);
            return;
        }
    }
    if (rename(tmp, out) < 0)
        die("rename %s: %s", out, strerror(errno));
    free(new);
    printf("initramfs: wrote %s (%zu entries, %zu bytes)\n", out, n_entries, a);
}

/* ---- modules ---- */

/* The value of "depends=" in a module's .modinfo section (a comma-separated list, maybe empty). */
static char *modinfo_depends(const char *path) {
    size_t len;
    char *b = read_file(path, &len);
    Elf64_Ehdr eh;
    if (len < sizeof eh)
        die("%s: not an ELF file", path);
    memcpy(&eh, b, sizeof eh);
    if (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_shentsize != sizeof(Elf64_Shdr) ||
        eh.e_shoff > len || (size_t)eh.e_shnum * sizeof(Elf64_Shdr) > len - eh.e_shoff || eh.e_shstrndx >= eh.e_shnum)
        die("%s: not a 64-bit ELF module", path);
    Elf64_Shdr str;
    memcpy(&str, b + eh.e_shoff + (size_t)eh.e_shstrndx * sizeof str, sizeof str);
    char *result = NULL;
    for (unsigned i = 0; i < eh.e_shnum && !result; i++) {
        Elf64_Shdr sh;
        memcpy(&sh, b + eh.e_shoff + (size_t)i * sizeof sh, sizeof sh);
        if (sh.sh_name >= str.sh_size || str.sh_offset + sh.sh_name >= len)
            continue;
        const char *nm = b + str.sh_offset + sh.sh_name;
        if (strnlen(nm, len - (str.sh_offset + sh.sh_name)) == len - (str.sh_offset + sh.sh_name) || strcmp(nm, ".modinfo"))
            continue;
        if (sh.sh_offset > len || sh.sh_size > len - sh.sh_offset)
            die("%s: .modinfo outside the file", path);
        for (size_t o = sh.sh_offset; o < sh.sh_offset + sh.sh_size;) {
            size_t n = strnlen(b + o, sh.sh_offset + sh.sh_size - o);
            if (n >= 8 && !memcmp(b + o, "depends=", 8))
                result = strndup(b + o + 8, n - 8);
            o += n + 1;
        }
    }
    free(b);
    if (!result)
        die("%s: no depends= in .modinfo", path);
    return result;
}

static const char *moddir; /* KERNEL_ROOT/lib/modules/<release> */
static char *ko_paths[8192]; /* relative to moddir */
static size_t n_ko;

static int collect_ko(const char *path, const struct stat *st, int type, struct FTW *ftw) {
    (void)st;
    (void)ftw;
    size_t l = strlen(path);
    if (type == FTW_F && l > 3 && !strcmp(path + l - 3, ".ko")) {
        if (n_ko == sizeof ko_paths / sizeof ko_paths[0])
            die("too many modules under %s", moddir);
        ko_paths[n_ko++] = strdup(path + strlen(moddir) + 1);
    }
    return 0;
}

static const char *ko_for(const char *name) {
    for (size_t i = 0; i < n_ko; i++) {
        const char *base = strrchr(ko_paths[i], '/');
        base = base ? base + 1 : ko_paths[i];
        size_t bl = strlen(base) - 3;
        if (bl != strlen(name))
            continue;
        size_t k = 0;
        while (k < bl && (base[k] == '-' ? '_' : base[k]) == (name[k] == '-' ? '_' : name[k]))
            k++;
        if (k == bl)
            return ko_paths[i];
    }
    return NULL;
}

/* Included modules in load order (dependencies first), each with its direct dependencies. */
static struct mod {
    const char *path;
    char *depends;
} mods[MODULES_MAX_PLAN];
static int n_mods;

static int mod_index(const char *path) {
    for (int i = 0; i < n_mods; i++)
        if (!strcmp(mods[i].path, path))
            return i;
    return -1;
}

static void include_module(const char *name, int depth) {
    const char *path = ko_for(name);
    if (!path)
        die("module %s: no %s.ko under %s (and not in modules.builtin)", name, name, moddir);
    if (mod_index(path) >= 0)
        return;
    if (depth > 32)
        die("module %s: dependency chain too deep", name);
    char full[4096];
    snprintf(full, sizeof full, "%s/%s", moddir, path);
    char *deps = modinfo_depends(full);
    char *copy = strdup(deps), *save;
    for (char *d = strtok_r(copy, ",", &save); d; d = strtok_r(NULL, ",", &save))
        include_module(d, depth + 1);
    free(copy);
    if (n_mods == MODULES_MAX_PLAN)
        die("too many modules");
    mods[n_mods++] = (struct mod){.path = path, .depends = deps};
}

/* All dependencies of mods[i], transitively, in modprobe's order: load from the last to the first. */
static void all_deps(int i, int *seen, int *order, int *n) {
    char *copy = strdup(mods[i].depends), *save;
    for (char *d = strtok_r(copy, ",", &save); d; d = strtok_r(NULL, ",", &save)) {
        int j = mod_index(ko_for(d));
        if (!seen[j]) {
            seen[j] = 1;
            all_deps(j, seen, order, n);
            order[(*n)++] = j;
        }
    }
    free(copy);
}

static char *modules_dep(size_t *len) {
    size_t cap = 65536, used = 0;
    char *out = malloc(cap);
    for (int i = 0; i < n_mods; i++) {
        int seen[MODULES_MAX_PLAN] = {0}, order[MODULES_MAX_PLAN], n = 0;
        all_deps(i, seen, order, &n);
        used += (size_t)snprintf(out + used, cap - used, "%s:", mods[i].path);
        for (int k = n - 1; k >= 0; k--) /* dependents before their dependencies, as depmod writes */
            used += (size_t)snprintf(out + used, cap - used, " %s", mods[order[k]].path);
        used += (size_t)snprintf(out + used, cap - used, "\n");
        if (used >= cap)
            die("modules.dep too long");
    }
    *len = used;
    return out;
}

/* ---- the kernel's config ---- */

/* The value of CONFIG_<sym> ("y", "m", or "" when not set) in the package's boot/config-<release>. */
static const char *config_value(const char *config, const char *sym) {
    static char v[8];
    char key[128];
    snprintf(key, sizeof key, "\nCONFIG_%s=", sym);
    const char *at = strstr(config, key);
    v[0] = 0;
    if (at)
        snprintf(v, sizeof v, "%.*s", (int)strcspn(at + strlen(key), "\n"), at + strlen(key));
    return v;
}

/* What the agent relies on: these built in, and each needed module either built in or a module,
 * agreeing with modules.builtin. */
static void check_config(const char *kroot, const char *release, const char *builtin, size_t bi_len) {
    char path[4096];
    snprintf(path, sizeof path, "%s/boot/config-%s", kroot, release);
    if (access(path, R_OK) != 0) {
        printf("initramfs: no %s, kernel options not checked\n", path);
        return;
    }
    size_t len;
    char *raw = read_file(path, &len), *config = malloc(len + 2);
    config[0] = '\n'; /* so every line, the first too, starts after a newline */
    memcpy(config + 1, raw, len + 1);
    static const char *const builtins[] = {"BLK_DEV_INITRD", "DEVTMPFS", "DEVMEM", "MODULES", "INET"};
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
        if (strcmp(config_value(config, builtins[i]), "y"))
            die("%s: CONFIG_%s is not y; the agent needs it built in", path, builtins[i]);
    static const char *const needed[] = MODULES_NEEDED, *const symbols[] = MODULES_NEEDED_CONFIG;
    for (int i = 0; i < MODULES_NEEDED_COUNT; i++) {
        const char *v = config_value(config, symbols[i]);
        const char *one[] = {needed[i]}, *why;
        char *plan[1], what[256];
        int is_builtin = modules_plan("", 0, builtin, bi_len, one, 1, plan, 1, &why, what, sizeof what) == 0;
        if (strcmp(v, "y") && strcmp(v, "m"))
            die("%s: CONFIG_%s is not set: the kernel has no %s", path, symbols[i], needed[i]);
        if (is_builtin != !strcmp(v, "y"))
            die("%s: CONFIG_%s=%s but modules.builtin %s %s", path, symbols[i], v,
                is_builtin ? "lists" : "does not list", needed[i]);
        printf("initramfs: CONFIG_%s=%s (%s)\n", symbols[i], v, needed[i]);
    }
    free(raw);
    free(config);
}

/* ---- busybox applets ---- */

static void add_busybox_links(const char *busybox) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' --list-full", busybox);
    FILE *p = popen(cmd, "r");
    if (!p)
        die("%s --list-full: %s", busybox, strerror(errno));
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, p)) {
        line[strcspn(line, "\n")] = 0;
        /* Our /init is the agent; busybox's init and linuxrc have no place here. */
        if (!line[0] || !strcmp(line, "sbin/init") || !strcmp(line, "linuxrc") || !strcmp(line, "bin/busybox"))
            continue;
        add_with_parents(line, S_IFLNK | 0777, strdup("/bin/busybox"), strlen("/bin/busybox"));
        n++;
    }
    if (pclose(p) != 0 || n == 0)
        die("%s --list-full failed (is it busybox-static?)", busybox);
}

int main(int argc, char **argv) {
    if (argc != 5)
        die("usage: mkinitramfs KERNEL_ROOT AGENT BUSYBOX OUT");
    const char *kroot = argv[1], *agent = argv[2], *busybox = argv[3], *out = argv[4];

    char dir[4096];
    snprintf(dir, sizeof dir, "%s/lib/modules", kroot);
    DIR *d = opendir(dir);
    if (!d)
        die("%s: %s", dir, strerror(errno));
    char release[256] = "";
    for (struct dirent *de; (de = readdir(d));) {
        if (de->d_name[0] == '.')
            continue;
        if (release[0])
            die("%s holds more than one kernel release", dir);
        snprintf(release, sizeof release, "%s", de->d_name);
    }
    closedir(d);
    if (!release[0])
        die("%s holds no kernel release", dir);
    static char md[4096];
    snprintf(md, sizeof md, "%s/%s", dir, release);
    moddir = md;
    if (nftw(moddir, collect_ko, 16, FTW_PHYS) < 0)
        die("%s: %s", moddir, strerror(errno));

    size_t bi_len;
    char path[4096];
    snprintf(path, sizeof path, "%s/modules.builtin", moddir);
    char *builtin = read_file(path, &bi_len);

    check_config(kroot, release, builtin, bi_len);

    /* The needed modules: built-in ones need nothing; the others come with their dependencies. */
    static const char *const needed[] = MODULES_NEEDED;
    for (int i = 0; i < MODULES_NEEDED_COUNT; i++) {
        char *plan[1];
        const char *why;
        char what[256];
        const char *one[] = {needed[i]};
        if (modules_plan("", 0, builtin, bi_len, one, 1, plan, 1, &why, what, sizeof what) == 0) {
            printf("initramfs: %s is built into %s\n", needed[i], release);
            continue;
        }
        include_module(needed[i], 0);
    }
    size_t dep_len;
    char *dep = modules_dep(&dep_len);

    /* Check with the agent's own planner that what it will read resolves. */
    char *plan[MODULES_MAX_PLAN];
    const char *why;
    char what[256];
    int n = modules_plan(dep, dep_len, builtin, bi_len, needed, MODULES_NEEDED_COUNT, plan, MODULES_MAX_PLAN, &why,
                         what, sizeof what);
    if (n < 0)
        die("the modules.dep written does not resolve: %s: %s", why, what);
    printf("initramfs: modules for %s, in load order:", release);
    for (int i = 0; i < n; i++)
        printf(" %s", strrchr(plan[i], '/') + 1);
    printf("\n");
    modules_free_plan(plan, n);

    size_t len;
    char rel[4096];
    char *agent_bytes = read_file(agent, &len);
    add("init", S_IFREG | 0755, agent_bytes, len);
    char *bb = read_file(busybox, &len);
    add_with_parents("bin/busybox", S_IFREG | 0755, bb, len);
    add_busybox_links(busybox);
    add("dev", S_IFDIR | 0755, NULL, 0);
    add("dev/console", S_IFCHR | 0600, NULL, 0);
    find_entry("dev/console")->rdev_major = 5;
    find_entry("dev/console")->rdev_minor = 1;
    add("proc", S_IFDIR | 0755, NULL, 0);
    add("sys", S_IFDIR | 0755, NULL, 0);
    add("tmp", S_IFDIR | 01777, NULL, 0);
    for (int i = 0; i < n_mods; i++) {
        snprintf(path, sizeof path, "%s/%s", moddir, mods[i].path);
        char *ko = read_file(path, &len);
        snprintf(rel, sizeof rel, "lib/modules/%s/%s", release, mods[i].path);
        add_with_parents(rel, S_IFREG | 0644, ko, len);
    }
    snprintf(rel, sizeof rel, "lib/modules/%s/modules.dep", release);
    add_with_parents(rel, S_IFREG | 0644, dep, dep_len);
    snprintf(rel, sizeof rel, "lib/modules/%s/modules.builtin", release);
    add_with_parents(rel, S_IFREG | 0644, builtin, bi_len);

    const char *sde = getenv("SOURCE_DATE_EPOCH");
    write_cpio(out, sde ? (uint32_t)strtoul(sde, NULL, 10) : 0);
    return 0;
}
