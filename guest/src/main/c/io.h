/* Port I/O, TSC and MMIO accessors. Every access that leaves the CPU is an exit to the VMM. */
#ifndef HOSTD_GUEST_IO_H
#define HOSTD_GUEST_IO_H
#include <stdint.h>

/* Compiler barrier: on x86 (TSO) this orders plain loads against loads and stores against stores. */
#define barrier() __asm__ __volatile__("" ::: "memory")

/* Full fence: needed only where a store must be visible before a later load (store-load order). */
static inline void mb(void) { __asm__ __volatile__("mfence" ::: "memory"); }

static inline void outb(uint16_t port, uint8_t v) {
    __asm__ __volatile__("outb %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline void outl(uint16_t port, uint32_t v) {
    __asm__ __volatile__("outl %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline uint8_t inb(uint16_t port) {
    uint8_t v;
    __asm__ __volatile__("inb %1, %0" : "=a"(v) : "Nd"(port) : "memory");
    return v;
}

static inline uint64_t rdtsc(void) {
    uint32_t lo, hi;
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static inline void cpu_relax(void) { __asm__ __volatile__("pause" ::: "memory"); }

/* MMIO: one plain mov each, so the VMM's instruction decoder sees the simplest form. */
static inline uint32_t mmio_read32(uint64_t addr) {
    uint32_t v;
    __asm__ __volatile__("movl %1, %0" : "=r"(v) : "m"(*(volatile uint32_t *)addr) : "memory");
    return v;
}

static inline void mmio_write32(uint64_t addr, uint32_t v) {
    __asm__ __volatile__("movl %1, %0" : "=m"(*(volatile uint32_t *)addr) : "r"(v) : "memory");
}

#endif
