#include "log.h"

#include <stdarg.h>
#include <stdio.h>

void agent_log(const char *fmt, ...) {
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "hostd-agent: %s\n", line);
}
