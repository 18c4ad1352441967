#include "identity.h"

#include "lib.h"
#include "sha256.h"

uint64_t identity_generation(const volatile struct identity_page *page) {
    if (page->magic != IDENTITY_MAGIC)
        return 0;
    return page->generation;
}

const char *identity_read(const volatile struct identity_page *page, struct identity_page *out) {
    /* The VMM writes the page only while the vCPU is stopped, so a plain copy is consistent. */
    memcpy(out, (const void *)page, sizeof *out);
    if (out->magic != IDENTITY_MAGIC)
        return "bad magic";
    if (out->version != IDENTITY_VERSION)
        return "unsupported version";
    if (out->size != IDENTITY_SIZE)
        return "bad size";
    if (out->generation == 0)
        return "generation 0";
    if (strnlen(out->hostname, sizeof out->hostname) == sizeof out->hostname ||
        strnlen(out->sandbox_id, sizeof out->sandbox_id) == sizeof out->sandbox_id ||
        strnlen(out->tenant_id, sizeof out->tenant_id) == sizeof out->tenant_id)
        return "string not NUL-terminated";
    return 0;
}

void identity_build_report(const struct identity_page *page, uint32_t identities_seen,
                           struct identity_report *out) {
    memcpy(&out->page, page, sizeof *page);
    sha256(page->seed, sizeof page->seed, out->page.seed);
    out->agent_version = AGENT_VERSION;
    out->identities_seen = identities_seen;
}
