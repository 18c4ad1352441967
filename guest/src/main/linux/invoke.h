/* The functions the host can INVOKE on a Linux guest: echo, sha256, identity (as the test guest),
 * and exec (run a program from the initramfs). */
#ifndef HOSTD_LINUX_INVOKE_H
#define HOSTD_LINUX_INVOKE_H
#include <stdint.h>

#include "abi.h"

#define EXEC_MAX_ARGS 64
#define EXEC_TIMEOUT_MS 60000
/* exec output: i32 exit code, then stdout and stderr interleaved, at most this many bytes. */
#define EXEC_MAX_OUTPUT (AGENT_MAX_PAYLOAD - 4 - 4)

struct invoke_result {
    const uint8_t *data;
    uint32_t len;
    uint8_t *owned; /* freed by invoke_result_free */
};

/* Runs a function. Returns a STATUS_* code; on STATUS_OK, r holds the output (it may point into
 * `arg`). `report` is the current identity report. */
uint32_t invoke_run(const char *name, uint32_t name_len, const uint8_t *arg, uint32_t arg_len,
                    const struct identity_report *report, struct invoke_result *r);
void invoke_result_free(struct invoke_result *r);

/* exec's argument: NUL-terminated strings (argv[0] first, a path or a name looked up in PATH).
 * Splits it into argv (NULL-terminated). Returns the argument count, or -1 if it is empty, does not
 * end in NUL, has an empty argv[0], or more than EXEC_MAX_ARGS strings. */
int invoke_exec_argv(const uint8_t *arg, uint32_t arg_len, char **argv);

#endif
