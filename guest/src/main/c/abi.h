/* The guest ABI (docs/guest-abi.md): structures and constants shared with the VMM. */
#ifndef HOSTD_GUEST_ABI_H
#define HOSTD_GUEST_ABI_H

/* Paravirtual I/O ports. */
#define PORT_COM1 0x3F8
#define PORT_WAIT 0x510
#define PORT_PANIC 0x511
#define PORT_WAIT_TIMED 0x512 /* out 32-bit: wait at most that many microseconds */

/* Guest-physical memory map. */
#define BOOT_INFO_ADDR 0x4000
#define IDENTITY_ADDR 0x5000
#define IMAGE_BASE 0x100000
#define MMIO_WINDOW_BASE 0xD0000000ULL
#define MAX_RAM_BYTES (1ULL << 30)

/* Panic codes written to PORT_PANIC (the test guest's own; the VMM only reports them). */
#define PANIC_MAIN_RETURNED 1
#define PANIC_BAD_BOOT_INFO 2
#define PANIC_BAD_IDENTITY 3
#define PANIC_NO_VSOCK 4
#define PANIC_VIRTIO_INIT 5
#define PANIC_VIRTIO_QUEUE 6
#define PANIC_VIRTIO_NEEDS_RESET 7

#ifndef __ASSEMBLER__
#include <stddef.h>
#include <stdint.h>

/* ---- Boot-info page (0x4000) ---- */
#define BOOT_INFO_MAGIC 0x544F4248u /* "HBOT" */
#define BOOT_INFO_VERSION 1
#define BOOT_INFO_MAX_DEVICES 8
#define BOOT_INFO_SIZE (0x30 + 16 * BOOT_INFO_MAX_DEVICES)

struct boot_device {
    uint64_t mmio_base;
    uint32_t mmio_size;
    uint32_t virtio_device_id;
};

struct boot_info {
    uint32_t magic;
    uint16_t version;
    uint16_t size;
    uint64_t ram_size;
    uint64_t identity_addr;
    uint64_t tsc_khz;
    uint64_t heap_start;
    uint32_t device_count;
    uint32_t reserved;
    struct boot_device devices[BOOT_INFO_MAX_DEVICES];
};

_Static_assert(sizeof(struct boot_device) == 16, "boot_device size");
_Static_assert(sizeof(struct boot_info) == BOOT_INFO_SIZE, "boot_info size");
_Static_assert(offsetof(struct boot_info, ram_size) == 0x08, "ram_size");
_Static_assert(offsetof(struct boot_info, identity_addr) == 0x10, "identity_addr");
_Static_assert(offsetof(struct boot_info, tsc_khz) == 0x18, "tsc_khz");
_Static_assert(offsetof(struct boot_info, heap_start) == 0x20, "heap_start");
_Static_assert(offsetof(struct boot_info, device_count) == 0x28, "device_count");
_Static_assert(offsetof(struct boot_info, devices) == 0x30, "devices");

/* ---- Identity page (0x5000) ---- */
#define IDENTITY_MAGIC 0x54444948u /* "HIDT" */
#define IDENTITY_VERSION 1
#define IDENTITY_SIZE 0x110

struct identity_page {
    uint32_t magic;
    uint16_t version;
    uint16_t size;
    uint64_t generation;
    uint8_t mac[6];
    uint8_t pad0[2];
    uint8_t ipv4[4];
    uint8_t prefix_len;
    uint8_t pad1[3];
    uint8_t gateway[4];
    uint8_t pad2[4];
    char hostname[64];
    char sandbox_id[64];
    char tenant_id[64];
    uint8_t seed[32];
    uint64_t wall_clock_ns;
};

_Static_assert(sizeof(struct identity_page) == IDENTITY_SIZE, "identity_page size");
_Static_assert(offsetof(struct identity_page, generation) == 0x008, "generation");
_Static_assert(offsetof(struct identity_page, mac) == 0x010, "mac");
_Static_assert(offsetof(struct identity_page, ipv4) == 0x018, "ipv4");
_Static_assert(offsetof(struct identity_page, prefix_len) == 0x01C, "prefix_len");
_Static_assert(offsetof(struct identity_page, gateway) == 0x020, "gateway");
_Static_assert(offsetof(struct identity_page, hostname) == 0x028, "hostname");
_Static_assert(offsetof(struct identity_page, sandbox_id) == 0x068, "sandbox_id");
_Static_assert(offsetof(struct identity_page, tenant_id) == 0x0A8, "tenant_id");
_Static_assert(offsetof(struct identity_page, seed) == 0x0E8, "seed");
_Static_assert(offsetof(struct identity_page, wall_clock_ns) == 0x108, "wall_clock_ns");

/* The identity report: HELLO payload and output of the `identity` function. */
#define AGENT_VERSION 1

struct identity_report {
    struct identity_page page; /* as read, with seed replaced by SHA-256(seed) */
    uint32_t agent_version;
    uint32_t identities_seen;
};

_Static_assert(sizeof(struct identity_report) == 0x118, "identity_report size");
_Static_assert(offsetof(struct identity_report, agent_version) == 0x110, "agent_version");

/* ---- Agent protocol (on the vsock stream to host CID 2, port 1024) ---- */
#define AGENT_HOST_CID 2
#define AGENT_HOST_PORT 1024
#define AGENT_MAX_PAYLOAD (1u << 20)

#define FRAME_HELLO 1
#define FRAME_INVOKE 2
#define FRAME_RESULT 3

#define STATUS_OK 0
#define STATUS_UNKNOWN_FUNCTION 1
#define STATUS_BAD_ARGUMENT 2
#define STATUS_TOO_LARGE 3
#define STATUS_OUT_OF_MEMORY 4
#define STATUS_UNAVAILABLE 5 /* the function needs a device this VM does not have */

struct frame_hdr {
    uint32_t len;
    uint16_t type;
    uint16_t flags;
    uint64_t request_id;
};

_Static_assert(sizeof(struct frame_hdr) == 16, "frame_hdr size");
_Static_assert(offsetof(struct frame_hdr, type) == 4, "frame type");
_Static_assert(offsetof(struct frame_hdr, request_id) == 8, "frame request_id");

#endif /* __ASSEMBLER__ */
#endif
