#include "invoke.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sha256.h"

int invoke_exec_argv(const uint8_t *arg, uint32_t arg_len, char **argv) {
    if (arg_len == 0 || arg[arg_len - 1] != 0 || arg[0] == 0)
        return -1;
    int argc = 0;
    for (uint32_t i = 0; i < arg_len;) {
        if (argc == EXEC_MAX_ARGS)
            return -1;
        argv[argc++] = (char *)arg + i;
        i += (uint32_t)strlen((const char *)arg + i) + 1; /* bounded: the last byte is NUL */
    }
    argv[argc] = NULL;
    return argc;
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* fork + exec with stdout/stderr on one pipe; reads up to EXEC_MAX_OUTPUT bytes (the rest is
 * drained and dropped), kills the program after EXEC_TIMEOUT_MS. */
static uint32_t run_exec(const uint8_t *arg, uint32_t arg_len, struct invoke_result *r) {
    char *argv[EXEC_MAX_ARGS + 1];
    if (invoke_exec_argv(arg, arg_len, argv) < 0)
        return STATUS_BAD_ARGUMENT;
    uint8_t *buf = malloc(4 + EXEC_MAX_OUTPUT);
    int p[2];
    if (!buf || pipe2(p, O_CLOEXEC) < 0) {
        free(buf);
        return STATUS_OUT_OF_MEMORY;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        free(buf);
        return STATUS_OUT_OF_MEMORY;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0)
            dup2(null, 0);
        dup2(p[1], 1);
        dup2(p[1], 2);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execvp(argv[0], argv);
        const char *e = strerror(errno);
        (void)!write(2, "exec: ", 6);
        (void)!write(2, e, strlen(e));
        _exit(127);
    }
    close(p[1]);
    uint32_t len = 0;
    int64_t deadline = now_ms() + EXEC_TIMEOUT_MS;
    int killed = 0;
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0 && !killed) {
            kill(pid, SIGKILL);
            killed = 1;
        }
        struct pollfd pf = {.fd = p[0], .events = POLLIN};
        int ready = poll(&pf, 1, killed ? 1000 : (int)left);
        if ((ready < 0 && errno != EINTR) || (ready == 0 && killed))
            break; /* killed, and something it started still holds the pipe: give up on it */
        if (ready <= 0)
            continue;
        uint8_t drain[4096];
        uint8_t *dst = len < EXEC_MAX_OUTPUT ? buf + 4 + len : drain;
        size_t room = len < EXEC_MAX_OUTPUT ? EXEC_MAX_OUTPUT - len : sizeof drain;
        ssize_t n = read(p[0], dst, room);
        if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
            break; /* EOF: every writer (the program and its children) is gone */
        if (n > 0 && dst != drain)
            len += (uint32_t)n;
    }
    close(p[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    int32_t code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    memcpy(buf, &code, 4);
    r->owned = buf;
    r->data = buf;
    r->len = 4 + len;
    return STATUS_OK;
}

static int is(const char *name, uint32_t len, const char *want) {
    return strlen(want) == len && !memcmp(name, want, len);
}

uint32_t invoke_run(const char *name, uint32_t name_len, const uint8_t *arg, uint32_t arg_len,
                    const struct identity_report *report, struct invoke_result *r) {
    static uint8_t digest[SHA256_DIGEST_SIZE];
    memset(r, 0, sizeof *r);
    if (is(name, name_len, "echo")) {
        r->data = arg;
        r->len = arg_len;
        return STATUS_OK;
    }
    if (is(name, name_len, "sha256")) {
        sha256(arg, arg_len, digest);
        r->data = digest;
        r->len = sizeof digest;
        return STATUS_OK;
    }
    if (is(name, name_len, "identity")) {
        r->data = (const uint8_t *)report;
        r->len = sizeof *report;
        return STATUS_OK;
    }
    if (is(name, name_len, "exec"))
        return run_exec(arg, arg_len, r);
    return STATUS_UNKNOWN_FUNCTION;
}

void invoke_result_free(struct invoke_result *r) {
    free(r->owned);
    memset(r, 0, sizeof *r);
}
