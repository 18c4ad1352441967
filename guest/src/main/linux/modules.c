#include "modules.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "log.h"

/* A view of one line of modules.dep: "path: dep dep ...". */
struct line {
    const char *p;
    size_t len;
};

static int next_line(const char *text, size_t len, size_t *pos, struct line *l) {
    if (*pos >= len)
        return 0;
    l->p = text + *pos;
    const char *nl = memchr(l->p, '\n', len - *pos);
    l->len = nl ? (size_t)(nl - l->p) : len - *pos;
    *pos += l->len + 1;
    return 1;
}

/* The module name of a path: basename without ".ko", '-' read as '_' (as the kernel does). */
static int name_matches(const char *path, size_t len, const char *name) {
    const char *base = path;
    for (size_t i = 0; i < len; i++)
        if (path[i] == '/')
            base = path + i + 1;
    size_t blen = len - (size_t)(base - path);
    if (blen < 3 || memcmp(base + blen - 3, ".ko", 3))
        return 0;
    blen -= 3;
    if (strlen(name) != blen)
        return 0;
    for (size_t i = 0; i < blen; i++) {
        char c = base[i] == '-' ? '_' : base[i];
        char n = name[i] == '-' ? '_' : name[i];
        if (c != n)
            return 0;
    }
    return 1;
}

struct planner {
    const char *dep;
    size_t dep_len;
    char **plan;
    int n, max, depth;
    const char **why;
    char *what;
    size_t what_len;
};

static int fail(struct planner *pl, const char *why, const char *p, size_t len) {
    *pl->why = why;
    snprintf(pl->what, pl->what_len, "%.*s", (int)(len > 200 ? 200 : len), p);
    return -1;
}

/* Finds the modules.dep line for a path (exact) or a name (match on the module name). */
static int find(struct planner *pl, const char *path, size_t plen, const char *name, struct line *out) {
    size_t pos = 0;
    struct line l;
    while (next_line(pl->dep, pl->dep_len, &pos, &l)) {
        const char *colon = memchr(l.p, ':', l.len);
        if (!colon)
            continue;
        size_t klen = (size_t)(colon - l.p);
        if (path ? (klen == plen && !memcmp(l.p, path, plen)) : name_matches(l.p, klen, name)) {
            *out = l;
            return 1;
        }
    }
    return 0;
}

static int planned(struct planner *pl, const char *p, size_t len) {
    for (int i = 0; i < pl->n; i++)
        if (strlen(pl->plan[i]) == len && !memcmp(pl->plan[i], p, len))
            return 1;
    return 0;
}

/* Depth-first: the dependencies of a line, then the line's own module. */
static int visit(struct planner *pl, struct line l) {
    const char *colon = memchr(l.p, ':', l.len);
    size_t klen = (size_t)(colon - l.p);
    if (planned(pl, l.p, klen))
        return 0;
    if (++pl->depth > 32)
        return fail(pl, "dependency chain too deep (a cycle?)", l.p, klen);
    const char *s = colon + 1, *end = l.p + l.len;
    while (s < end) {
        while (s < end && (*s == ' ' || *s == '\t' || *s == '\r'))
            s++;
        const char *e = s;
        while (e < end && *e != ' ' && *e != '\t' && *e != '\r')
            e++;
        if (e > s) {
            struct line d;
            if (!find(pl, s, (size_t)(e - s), NULL, &d))
                return fail(pl, "dependency not in modules.dep", s, (size_t)(e - s));
            if (visit(pl, d) < 0)
                return -1;
        }
        s = e;
    }
    pl->depth--;
    if (planned(pl, l.p, klen))
        return 0;
    if (pl->n == pl->max)
        return fail(pl, "too many modules", l.p, klen);
    if (!(pl->plan[pl->n] = strndup(l.p, klen)))
        return fail(pl, "out of memory", l.p, klen);
    pl->n++;
    return 0;
}

static int builtin(const char *text, size_t len, const char *name) {
    size_t pos = 0;
    struct line l;
    while (next_line(text, len, &pos, &l))
        if (name_matches(l.p, l.len, name))
            return 1;
    return 0;
}

int modules_plan(const char *dep, size_t dep_len, const char *builtin_text, size_t builtin_len,
                 const char *const *names, int count, char **plan, int max, const char **why,
                 char *what, size_t what_len) {
    struct planner pl = {.dep = dep, .dep_len = dep_len, .plan = plan, .max = max, .why = why,
                         .what = what, .what_len = what_len};
    for (int i = 0; i < count; i++) {
        struct line l;
        if (find(&pl, NULL, 0, names[i], &l)) {
            pl.depth = 0;
            if (visit(&pl, l) < 0) {
                modules_free_plan(plan, pl.n);
                return -1;
            }
        } else if (!builtin(builtin_text, builtin_len, names[i])) {
            modules_free_plan(plan, pl.n);
            return fail(&pl, "module neither in modules.dep nor built in", names[i], strlen(names[i]));
        }
    }
    return pl.n;
}

void modules_free_plan(char **plan, int n) {
    for (int i = 0; i < n; i++) {
        free(plan[i]);
        plan[i] = NULL;
    }
}

/* Reads a whole (small) file; empty if it does not exist. Returns malloc'd text or NULL on error. */
static char *slurp(const char *path, size_t *len) {
    *len = 0;
    FILE *f = fopen(path, "re");
    if (!f)
        return errno == ENOENT ? strdup("") : NULL;
    size_t cap = 1 << 16;
    char *buf = malloc(cap);
    while (buf) {
        size_t n = fread(buf + *len, 1, cap - *len, f);
        *len += n;
        if (n == 0)
            break;
        if (*len == cap) {
            if (cap >= (16u << 20)) { /* modules.dep of a whole distribution kernel is ~1 MiB */
                free(buf);
                buf = NULL;
                break;
            }
            char *b = realloc(buf, cap *= 2);
            if (!b)
                free(buf);
            buf = b;
        }
    }
    fclose(f);
    return buf;
}

int modules_load(const char *root, const char *const *names, int count) {
    char dir[512], path[1024];
    if (root) {
        snprintf(dir, sizeof dir, "%s", root);
    } else {
        struct utsname u;
        uname(&u);
        snprintf(dir, sizeof dir, "/lib/modules/%s", u.release);
    }
    size_t dep_len, bi_len;
    snprintf(path, sizeof path, "%s/modules.dep", dir);
    char *dep = slurp(path, &dep_len);
    snprintf(path, sizeof path, "%s/modules.builtin", dir);
    char *bi = slurp(path, &bi_len);
    char *plan[MODULES_MAX_PLAN];
    const char *why = NULL;
    char what[256] = "";
    int n = dep && bi ? modules_plan(dep, dep_len, bi, bi_len, names, count, plan, MODULES_MAX_PLAN, &why, what,
                                     sizeof what)
                      : -1;
    free(dep);
    free(bi);
    if (n < 0) {
        agent_log("modules in %s: %s%s%s", dir, why ? why : "cannot read modules.dep", what[0] ? ": " : "", what);
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, plan[i]);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            agent_log("module %s: open: %s", path, strerror(errno));
            rc = -1;
        } else {
            if (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST) {
                agent_log("module %s: finit_module: %s", path, strerror(errno));
                rc = -1;
            }
            close(fd);
        }
    }
    modules_free_plan(plan, n);
    return rc;
}
