#include "console.h"

#include <stdarg.h>

#include "abi.h"
#include "io.h"

/* LSR bit 5 (THR empty) is always set by the VMM, so the guest never polls it (saves an exit per byte). */
void console_putc(char c) { outb(PORT_COM1, (uint8_t)c); }

void console_puts(const char *s) {
    while (*s)
        console_putc(*s++);
}

static void put_unsigned(uint64_t v, unsigned base) {
    char buf[24];
    int n = 0;
    do {
        unsigned d = (unsigned)(v % base);
        buf[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        v /= base;
    } while (v);
    while (n)
        console_putc(buf[--n]);
}

static void vprint(const char *fmt, va_list ap) {
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            console_putc(*fmt);
            continue;
        }
        fmt++;
        int is_long = 0;
        while (*fmt == 'l') {
            is_long = 1;
            fmt++;
        }
        switch (*fmt) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            console_puts(s ? s : "(null)");
            break;
        }
        case 'c':
            console_putc((char)va_arg(ap, int));
            break;
        case 'd': {
            int64_t v = is_long ? va_arg(ap, long) : va_arg(ap, int);
            if (v < 0) {
                console_putc('-');
                put_unsigned((uint64_t)0 - (uint64_t)v, 10);
            } else {
                put_unsigned((uint64_t)v, 10);
            }
            break;
        }
        case 'u':
        case 'x': {
            uint64_t v = is_long ? va_arg(ap, unsigned long) : va_arg(ap, unsigned);
            put_unsigned(v, *fmt == 'x' ? 16 : 10);
            break;
        }
        case '%':
            console_putc('%');
            break;
        case '\0':
            return;
        default:
            console_putc('%');
            console_putc(*fmt);
            break;
        }
    }
}

void console_printf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprint(fmt, ap);
    va_end(ap);
}

void panic(uint32_t code, const char *fmt, ...) {
    va_list ap;
    console_printf("hostd-test-guest: panic %u: ", code);
    va_start(ap, fmt);
    vprint(fmt, ap);
    va_end(ap);
    console_putc('\n');
    for (;;)
        outl(PORT_PANIC, code);
}
