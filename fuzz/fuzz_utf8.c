
/*
 * lib/csibiz_utf8.c.  Oracles: what decodes re-encodes to the same
 * bytes; valid() and count() agree with a walk by decode(); trimming
 * stays inside the text, is idempotent and keeps it valid; a code point
 * taken from the input encodes and decodes back.
 */


#include "fuzz.h"

#include "csibiz_utf8.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int          valid;
    char        *s, enc[CSIBIZ_UTF8_MAX_BYTES];
    size_t       i, n, m, chars, count, tlen, tlen2;
    uint32_t     cp, cp2;
    const char  *t, *t2;

    s = fuzz_dup(data, size);

    valid = 1;
    chars = 0;

    for (i = 0; i < size; i += n ? n : 1) {
        n = csibiz_utf8_decode(s + i, size - i, &cp);

        if (n == 0) {
            valid = 0;
            continue;
        }

        FUZZ_CHECK(n <= CSIBIZ_UTF8_MAX_BYTES && n <= size - i);
        FUZZ_CHECK(cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff));

        m = csibiz_utf8_encode(cp, enc);
        FUZZ_CHECK(m == n && memcmp(enc, s + i, n) == 0);

        if (cp == 0) {
            valid = 0;
        }

        chars++;
    }

    FUZZ_CHECK(csibiz_utf8_valid(s, size) == valid);

    if (valid) {
        FUZZ_CHECK(csibiz_utf8_count(s, size, &count) == 0);
        FUZZ_CHECK(count == chars);

    } else {
        FUZZ_CHECK(csibiz_utf8_count(s, size, &count) == -1);
    }

    t = s;
    tlen = size;
    csibiz_utf8_trim(&t, &tlen);
    FUZZ_CHECK(t >= s && t + tlen <= s + size);

    t2 = t;
    tlen2 = tlen;
    csibiz_utf8_trim(&t2, &tlen2);
    FUZZ_CHECK(t2 == t && tlen2 == tlen);

    if (valid) {
        FUZZ_CHECK(csibiz_utf8_valid(t, tlen));
    }

    if (size >= 4) {
        memcpy(&cp, data, 4);
        m = csibiz_utf8_encode(cp, enc);

        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            FUZZ_CHECK(m == 0);

        } else {
            FUZZ_CHECK(m >= 1 && m <= CSIBIZ_UTF8_MAX_BYTES);
            FUZZ_CHECK(csibiz_utf8_decode(enc, m, &cp2) == m && cp2 == cp);
        }
    }

    free(s);

    return 0;
}
