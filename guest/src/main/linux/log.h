/* Console messages: one line each, prefixed "hostd-agent: ", on stderr (the console as PID 1). */
#ifndef HOSTD_LINUX_LOG_H
#define HOSTD_LINUX_LOG_H

void agent_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
