/* The host-side tests' assertion: counts passes, prints each failure with its place and message.
 * A test program ends with printf("%d passed, %d failed\n", passed, failed) and exit(failed != 0). */
#ifndef HOSTD_GUEST_TEST_CHECK_H
#define HOSTD_GUEST_TEST_CHECK_H

#include <stdio.h>

static int passed, failed;

#define CHECK(cond, ...)                                  \
    do {                                                  \
        if (cond) {                                       \
            passed++;                                     \
        } else {                                          \
            failed++;                                     \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);   \
            printf(__VA_ARGS__);                          \
            printf("\n");                                 \
        }                                                 \
    } while (0)

#endif
