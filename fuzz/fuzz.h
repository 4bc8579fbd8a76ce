
/*
 * Shared by the libFuzzer targets of fuzz/ (see mk/fuzz.mk): an oracle
 * check that aborts, so that libFuzzer saves the input as a crash, and
 * heap copies of exactly the right size, so that AddressSanitizer sees a
 * read or write one byte past what a lib/ function was given.
 */


#ifndef FUZZ_H
#define FUZZ_H


#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define FUZZ_CHECK(cond)                                                     \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "fuzz oracle failed: %s (%s:%d)\n", #cond,       \
                    __FILE__, __LINE__);                                     \
            abort();                                                         \
        }                                                                    \
    } while (0)


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


/* a heap copy of len bytes (never NULL: malloc(0) may be) */
static inline char *
fuzz_dup(const void *p, size_t len)
{
    char  *copy;

    copy = malloc(len ? len : 1);
    FUZZ_CHECK(copy != NULL);

    if (len) {
        memcpy(copy, p, len);
    }

    return copy;
}


/* an exact-size output buffer */
static inline char *
fuzz_buf(size_t size)
{
    char  *buf;

    buf = malloc(size ? size : 1);
    FUZZ_CHECK(buf != NULL);

    return buf;
}


/*
 * Runs a normalizer of lib/ (in, len -> NUL-terminated out of size bytes,
 * 0/-1) and checks that what it accepts it accepts again unchanged.  The
 * normalized text, to free, or NULL when refused.
 */
static inline char *
fuzz_fixed_point(const char *s, size_t len,
    int (*normalize)(const char *in, size_t len, char *out), size_t size)
{
    char    *out, *again;
    size_t   n;

    out = fuzz_buf(size);

    if (normalize(s, len, out) != 0) {
        free(out);
        return NULL;
    }

    n = strlen(out);
    FUZZ_CHECK(n < size);

    again = fuzz_buf(size);
    FUZZ_CHECK(normalize(out, n, again) == 0);
    FUZZ_CHECK(strcmp(again, out) == 0);
    free(again);

    return out;
}


#endif /* FUZZ_H */
