/* Loading kernel modules in dependency order from the initramfs's /lib/modules/<release>/. */
#ifndef HOSTD_LINUX_MODULES_H
#define HOSTD_LINUX_MODULES_H
#include <stddef.h>

/* The modules the agent needs, by module name: virtio-mmio devices (found through ACPI),
 * virtio-net, and the virtio vsock transport (which pulls in vsock itself). */
#define MODULES_NEEDED {"virtio_mmio", "virtio_net", "vmw_vsock_virtio_transport"}
#define MODULES_NEEDED_COUNT 3
/* Their kconfig symbols (without CONFIG_), in the same order: mkinitramfs checks each is y or m. */
#define MODULES_NEEDED_CONFIG {"VIRTIO_MMIO", "VIRTIO_NET", "VIRTIO_VSOCKETS"}

#define MODULES_MAX_PLAN 64

/* The load order for `names`: every module's dependencies (from modules.dep, recursively) before
 * the module, each path once. A name listed in modules.builtin needs nothing. Pure: works on the
 * two files' text (need not be NUL-terminated). Fills plan[] with pointers to malloc'd strings
 * (module paths as modules.dep writes them, relative to the release directory) and returns how
 * many, or -1 with *why (and *what, the module or path concerned) if a module is unknown, a
 * dependency is missing or cyclic, or the plan would exceed `max`. */
int modules_plan(const char *dep, size_t dep_len, const char *builtin, size_t builtin_len,
                 const char *const *names, int count, char **plan, int max, const char **why,
                 char *what, size_t what_len);
void modules_free_plan(char **plan, int n);

/* Load `names` from /lib/modules/<uname release>/ (or `root` instead of /lib/modules/<release>)
 * with finit_module; an already loaded module counts as loaded. Returns 0 or -1 (logged). */
int modules_load(const char *root, const char *const *names, int count);

#endif
