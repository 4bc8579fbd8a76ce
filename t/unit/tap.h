
/*
 * A minimal TAP producer for the C unit tests: "ok N - description" lines
 * on stdout, diagnostics as "# ..." on stderr, and the plan "1..N" at the
 * end (TAP allows a trailing plan), so nobody counts tests by hand.
 * A test program ends with "return tap_done();".
 *
 * The state is static: include this header in one .c file only.
 */


#ifndef CSIBIZ_TAP_H
#define CSIBIZ_TAP_H


#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>


/* a string literal as (pointer, length), embedded NULs included */
#define S(lit)  (lit), (sizeof(lit) - 1)

/* the number of elements of an array, for the tables of cases */
#define N(a)    (sizeof(a) / sizeof((a)[0]))


#if defined(__GNUC__)
#define TAP_PRINTF(fmt, args)  __attribute__((format(printf, fmt, args)))
#else
#define TAP_PRINTF(fmt, args)
#endif


/* a string in, the string expected out, and what the case is about */
typedef struct {
    const char  *in;
    size_t       len;
    const char  *out;
    const char  *what;
} tap_str_case_t;


static int  tap_run;
static int  tap_failed;


static inline int tap_vok(int ok, const char *fmt, va_list ap)
    TAP_PRINTF(2, 0);
static inline int tap_ok(int ok, const char *fmt, ...) TAP_PRINTF(2, 3);
static inline int tap_is_int(long long got, long long expected,
    const char *fmt, ...) TAP_PRINTF(3, 4);
static inline int tap_is_str(const char *got, size_t got_len,
    const char *expected, const char *fmt, ...) TAP_PRINTF(4, 5);
static inline void tap_diag(const char *fmt, ...) TAP_PRINTF(1, 2);
static inline double tap_now(void);


/* control characters in a description would break the TAP line */

static inline int
tap_vok(int ok, const char *fmt, va_list ap)
{
    char    desc[512];
    size_t  i;

    tap_run++;

    if (!ok) {
        tap_failed++;
    }

    vsnprintf(desc, sizeof(desc), fmt, ap);

    printf("%sok %d - ", ok ? "" : "not ", tap_run);

    for (i = 0; desc[i] != '\0'; i++) {
        if ((unsigned char) desc[i] < 0x20 || desc[i] == 0x7f) {
            printf("\\x%02x", (unsigned char) desc[i]);

        } else {
            putchar(desc[i]);
        }
    }

    printf("\n");
    fflush(stdout);

    return ok;
}


static inline int
tap_ok(int ok, const char *fmt, ...)
{
    va_list  ap;

    va_start(ap, fmt);
    tap_vok(ok, fmt, ap);
    va_end(ap);

    return ok;
}


static inline int
tap_is_int(long long got, long long expected, const char *fmt, ...)
{
    int      ok;
    va_list  ap;

    ok = (got == expected);

    va_start(ap, fmt);
    tap_vok(ok, fmt, ap);
    va_end(ap);

    if (!ok) {
        tap_diag("     got: %lld", got);
        tap_diag("expected: %lld", expected);
    }

    return ok;
}


/* got is (got, got_len), NULL for none; expected is a C string or NULL */

static inline int
tap_is_str(const char *got, size_t got_len, const char *expected,
    const char *fmt, ...)
{
    int      ok;
    va_list  ap;

    if (got == NULL || expected == NULL) {
        ok = (got == NULL && expected == NULL);

    } else {
        ok = (got_len == strlen(expected)
              && memcmp(got, expected, got_len) == 0);
    }

    va_start(ap, fmt);
    tap_vok(ok, fmt, ap);
    va_end(ap);

    if (!ok) {
        if (got == NULL) {
            tap_diag("     got: NULL");

        } else {
            tap_diag("     got: \"%.*s\" (%zu bytes)", (int) got_len, got,
                     got_len);
        }

        tap_diag("expected: %s%s%s", expected ? "\"" : "",
                 expected ? expected : "NULL", expected ? "\"" : "");
    }

    return ok;
}


static inline void
tap_diag(const char *fmt, ...)
{
    va_list  ap;

    fflush(stdout);
    fprintf(stderr, "# ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
}


/* seconds on the monotonic clock, for the tests that bound a duration */

static inline double
tap_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


/* prints the plan; the exit status is 1 if any test failed */

static inline int
tap_done(void)
{
    printf("1..%d\n", tap_run);

    if (tap_failed) {
        tap_diag("failed %d of %d tests", tap_failed, tap_run);
    }

    return tap_failed ? 1 : 0;
}


#endif /* CSIBIZ_TAP_H */
