#include "functions.h"

#include "io.h"
#include "lib.h"
#include "netfn.h"
#include "sha256.h"

static uint8_t *heap;
static uint64_t heap_bytes;
static uint64_t tsc_khz;
static const struct identity_report *identity;
static uint32_t touch_calls;
static uint8_t result[32];

void functions_init(const struct boot_info *bi, const struct identity_report *report) {
    heap = (uint8_t *)(uintptr_t)bi->heap_start;
    heap_bytes = bi->ram_size > bi->heap_start ? bi->ram_size - bi->heap_start : 0;
    tsc_khz = bi->tsc_khz;
    identity = report;
}

static uint32_t get_u32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint32_t put_u64(uint64_t v, const uint8_t **out, uint32_t *out_len) {
    memcpy(result, &v, 8);
    *out = result;
    *out_len = 8;
    return STATUS_OK;
}

static uint32_t fn_echo(const uint8_t *arg, uint32_t len, const uint8_t **out, uint32_t *out_len) {
    *out = arg;
    *out_len = len;
    return STATUS_OK;
}

static uint32_t fn_sha256(const uint8_t *arg, uint32_t len, const uint8_t **out, uint32_t *out_len) {
    sha256(arg, len, result);
    *out = result;
    *out_len = SHA256_DIGEST_SIZE;
    return STATUS_OK;
}

/* Write every byte of N MiB of heap, with a value that differs from the previous call's. */
static uint32_t fn_touch(const uint8_t *arg, uint32_t len, const uint8_t **out, uint32_t *out_len) {
    if (len != 4)
        return STATUS_BAD_ARGUMENT;
    uint64_t bytes = (uint64_t)get_u32(arg) << 20;
    if (bytes > heap_bytes)
        return STATUS_BAD_ARGUMENT;
    touch_calls++;
    uint8_t value = (uint8_t)(touch_calls % 255 + 1); /* 1..255, never the zero of a fresh page */
    memset(heap, value, bytes);
    return put_u64(bytes / 4096, out, out_len);
}

/* Busy-loop on the TSC for N milliseconds. */
static uint32_t fn_spin(const uint8_t *arg, uint32_t len, const uint8_t **out, uint32_t *out_len) {
    if (len != 4)
        return STATUS_BAD_ARGUMENT;
    uint32_t ms = get_u32(arg);
    if (tsc_khz == 0 || ms > 60000)
        return STATUS_BAD_ARGUMENT;
    uint64_t ticks = (uint64_t)ms * tsc_khz;
    uint64_t start = rdtsc(), now;
    do {
        cpu_relax();
        now = rdtsc();
    } while (now - start < ticks);
    return put_u64(now - start, out, out_len);
}

static uint32_t fn_identity(const uint8_t *arg, uint32_t len, const uint8_t **out, uint32_t *out_len) {
    (void)arg;
    (void)len;
    *out = (const uint8_t *)identity;
    *out_len = sizeof *identity;
    return STATUS_OK;
}

static const struct {
    const char *name;
    uint32_t (*fn)(const uint8_t *arg, uint32_t len, const uint8_t **out, uint32_t *out_len);
} table[] = {
    {"echo", fn_echo}, {"sha256", fn_sha256}, {"touch", fn_touch}, {"spin", fn_spin}, {"identity", fn_identity},
};

uint32_t functions_invoke(const char *name, uint32_t name_len, const uint8_t *arg, uint32_t arg_len,
                          const uint8_t **out, uint32_t *out_len) {
    for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
        if (strnlen(table[i].name, 16) == name_len && !memcmp(table[i].name, name, name_len))
            return table[i].fn(arg, arg_len, out, out_len);
    }
    int64_t net_status = netfn_invoke(name, name_len, arg, arg_len, out, out_len);
    return net_status >= 0 ? (uint32_t)net_status : STATUS_UNKNOWN_FUNCTION;
}
