/* The 8250 console (COM1 THR). Every byte is a port exit: print only at first boot and on errors. */
#ifndef HOSTD_GUEST_CONSOLE_H
#define HOSTD_GUEST_CONSOLE_H
#include <stdint.h>

void console_putc(char c);
void console_puts(const char *s);
/* A small printf: %s %c %d %u %x %lu %lx %ld %% (no widths). */
void console_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "hostd-test-guest: panic <code>: <msg>" and report the code on PORT_PANIC. Never returns. */
__attribute__((noreturn)) void panic(uint32_t code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
