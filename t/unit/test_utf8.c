
/*
 * Unit tests of lib/csibiz_utf8.c: decoding at the edges of each range of
 * the Unicode well-formedness table, encoding, validation, counting and
 * trimming.
 */


#include <stdlib.h>
#include <string.h>

#include "csibiz_utf8.h"
#include "tap.h"


static void test_decode(void);
static void test_encode(void);
static void test_valid(void);
static void test_count(void);
static void test_trim(void);


int
main(void)
{
    test_decode();
    test_encode();
    test_valid();
    test_count();
    test_trim();

    return tap_done();
}


static void
test_decode(void)
{
    static const struct {
        const char  *bytes;
        size_t       len;
        size_t       n;             /* 0: refused */
        uint32_t     cp;
        const char  *what;
    } cases[] = {
        { S("A"), 1, 0x41, "ASCII" },
        { S("\0"), 1, 0, "U+0000 decodes (callers refuse it)" },
        { S("\x7f"), 1, 0x7f, "U+007F" },
        { S("\xc2\x80"), 2, 0x80, "U+0080, first 2-byte" },
        { S("\xc2\xa0"), 2, 0xa0, "U+00A0" },
        { S("\xdf\xbf"), 2, 0x7ff, "U+07FF, last 2-byte" },
        { S("\xe0\xa0\x80"), 3, 0x800, "U+0800, first 3-byte" },
        { S("\xe5\xbc\xa0"), 3, 0x5f20, "U+5F20 (zhang)" },
        { S("\xed\x9f\xbf"), 3, 0xd7ff, "U+D7FF, before surrogates" },
        { S("\xee\x80\x80"), 3, 0xe000, "U+E000, after surrogates" },
        { S("\xef\xbf\xbf"), 3, 0xffff, "U+FFFF" },
        { S("\xf0\x90\x80\x80"), 4, 0x10000, "U+10000, first 4-byte" },
        { S("\xf0\x9f\x98\x80"), 4, 0x1f600, "U+1F600 (emoji)" },
        { S("\xf4\x8f\xbf\xbf"), 4, 0x10ffff, "U+10FFFF, the last" },

        { S(""), 0, 0, "empty input" },
        { S("\x80"), 0, 0, "lone continuation byte" },
        { S("\xbf"), 0, 0, "lone continuation byte BF" },
        { S("\xc0\x80"), 0, 0, "overlong NUL (C0 80)" },
        { S("\xc1\xbf"), 0, 0, "overlong C1" },
        { S("\xe0\x80\x80"), 0, 0, "overlong 3-byte NUL" },
        { S("\xe0\x9f\xbf"), 0, 0, "overlong 3-byte U+07FF" },
        { S("\xf0\x80\x80\x80"), 0, 0, "overlong 4-byte NUL" },
        { S("\xf0\x8f\xbf\xbf"), 0, 0, "overlong 4-byte U+FFFF" },
        { S("\xed\xa0\x80"), 0, 0, "surrogate U+D800" },
        { S("\xed\xbf\xbf"), 0, 0, "surrogate U+DFFF" },
        { S("\xf4\x90\x80\x80"), 0, 0, "U+110000, beyond Unicode" },
        { S("\xf5\x80\x80\x80"), 0, 0, "lead byte F5" },
        { S("\xff"), 0, 0, "byte FF" },
        { S("\xc2"), 0, 0, "truncated 2-byte" },
        { S("\xe5\xbc"), 0, 0, "truncated 3-byte" },
        { S("\xf0\x9f\x98"), 0, 0, "truncated 4-byte" },
        { S("\xc2\x41"), 0, 0, "2-byte with ASCII continuation" },
        { S("\xe5\xbc\xc0"), 0, 0, "3-byte with bad third byte" },
        { S("\xf0\x9f\x98\x41"), 0, 0, "4-byte with bad fourth byte" },
    };

    size_t    i, n;
    uint32_t  cp;

    for (i = 0; i < N(cases); i++) {
        cp = 0xdeadbeef;
        n = csibiz_utf8_decode(cases[i].bytes, cases[i].len, &cp);

        if (cases[i].n == 0) {
            tap_is_int((long long) n, 0, "decode refuses: %s",
                       cases[i].what);
            continue;
        }

        tap_ok(n == cases[i].n && cp == cases[i].cp, "decode %s",
               cases[i].what);
    }

    /* only the first character is decoded */
    n = csibiz_utf8_decode(S("\xe5\xbc\xa0\xe4\xb8\x89"), &cp);
    tap_ok(n == 3 && cp == 0x5f20, "decode stops after one character");
}


static void
test_encode(void)
{
    static const uint32_t  cps[] = {
        0, 0x41, 0x7f, 0x80, 0x7ff, 0x800, 0x5f20, 0xd7ff, 0xe000,
        0xfffd, 0xffff, 0x10000, 0x1f600, 0x10ffff
    };

    char      buf[CSIBIZ_UTF8_MAX_BYTES];
    size_t    i, n, m;
    uint32_t  cp;

    for (i = 0; i < N(cps); i++) {
        n = csibiz_utf8_encode(cps[i], buf);
        m = csibiz_utf8_decode(buf, n, &cp);
        tap_ok(n > 0 && m == n && cp == cps[i],
               "encode U+%04lX round-trips in %zu bytes",
               (unsigned long) cps[i], n);
    }

    n = csibiz_utf8_encode(0x5f20, buf);
    tap_is_str(buf, n, "\xe5\xbc\xa0", "encode U+5F20 bytes");

    tap_is_int((long long) csibiz_utf8_encode(0xd800, buf), 0,
               "encode refuses U+D800");
    tap_is_int((long long) csibiz_utf8_encode(0xdfff, buf), 0,
               "encode refuses U+DFFF");
    tap_is_int((long long) csibiz_utf8_encode(0x110000, buf), 0,
               "encode refuses U+110000");
    tap_is_int((long long) csibiz_utf8_encode(0xffffffff, buf), 0,
               "encode refuses 0xFFFFFFFF");
}


static void
test_valid(void)
{
    static const struct {
        const char  *s;
        size_t       len;
        int          valid;
        const char  *what;
    } cases[] = {
        { S(""), 1, "empty" },
        { S("hello, world"), 1, "ASCII" },
        { S("\xe5\xbc\xa0\xe4\xb8\x89\xe4\xb8\xb0"), 1, "zhang san feng" },
        { S("a\xc2\xa0" "b\xe3\x80\x80" "c\xf0\x9f\x98\x80"), 1, "mixed" },
        { S("a\0b"), 0, "inner NUL" },
        { S("\0"), 0, "only NUL" },
        { S("abc\xe5\xbc"), 0, "truncated at the end" },
        { S("\xed\xa0\x80\xed\xb0\x80"), 0, "CESU-8 surrogate pair" },
        { S("\xc0\xaf"), 0, "overlong slash" },
        { S("abc\x80"), 0, "stray continuation at the end" },
        { S("\xef\xbb\xbf" "abc"), 1, "a BOM is a valid character" },
    };

    size_t  i;

    for (i = 0; i < N(cases); i++) {
        tap_is_int(csibiz_utf8_valid(cases[i].s, cases[i].len),
                   cases[i].valid, "valid is %d: %s", cases[i].valid,
                   cases[i].what);
    }

    tap_is_int(csibiz_utf8_valid(NULL, 0), 1, "valid: NULL with length 0");
}


static void
test_count(void)
{
    size_t  count;

    count = 99;
    tap_ok(csibiz_utf8_count(S(""), &count) == 0 && count == 0,
           "count empty: 0");
    tap_ok(csibiz_utf8_count(S("abc"), &count) == 0 && count == 3,
           "count ASCII");
    tap_ok(csibiz_utf8_count(S("\xe5\xbc\xa0\xe4\xb8\x89\xe4\xb8\xb0"),
                             &count) == 0 && count == 3,
           "count 3 Chinese characters in 9 bytes");
    tap_ok(csibiz_utf8_count(S("a\xc2\xa0\xe4\xb8\x89\xf0\x9f\x98\x80"),
                             &count) == 0 && count == 4,
           "count 1-, 2-, 3- and 4-byte characters");

    count = 99;
    tap_ok(csibiz_utf8_count(S("ab\xff"), &count) == -1 && count == 99,
           "count refuses invalid UTF-8, count untouched");
    tap_is_int(csibiz_utf8_count(S("a\0"), &count), -1, "count refuses NUL");
}


static void
test_trim(void)
{
    static const tap_str_case_t  cases[] = {
        { S(""), "", "empty" },
        { S("abc"), "abc", "nothing to trim" },
        { S("  abc  "), "abc", "ASCII spaces" },
        { S("\t\r\n\v\fabc\r\n"), "abc", "tabs, CR, LF, VT, FF" },
        { S("a b"), "a b", "inner space kept" },
        { S("   "), "", "only spaces" },
        { S("\xe3\x80\x80" "abc" "\xe3\x80\x80"), "abc",
          "U+3000 ideographic space" },
        { S("\xc2\xa0" "abc" "\xc2\xa0"), "abc", "U+00A0 no-break space" },
        { S(" \xe3\x80\x80\xc2\xa0 \xe5\xbc\xa0 \xe4\xb8\x89\xe3\x80\x80 "),
          "\xe5\xbc\xa0 \xe4\xb8\x89", "mixed around a name" },
        { S("\xe3\x80\x80\xe3\x80\x80"), "", "only U+3000" },
        { S("\xe3\x80" "a"), "\xe3\x80" "a", "a partial U+3000 is kept" },
        { S("a\x80\x80"), "a\x80\x80", "bare 80 80 at the end is kept" },
        { S("\xe2\x80\x83" "a"), "\xe2\x80\x83" "a",
          "U+2003 em space is not trimmed" },
    };

    size_t       i, len;
    const char  *s;

    for (i = 0; i < N(cases); i++) {
        s = cases[i].in;
        len = cases[i].len;
        csibiz_utf8_trim(&s, &len);
        tap_is_str(s, len, cases[i].out, "trim: %s", cases[i].what);
    }

    s = "  x";
    len = 3;
    csibiz_utf8_trim(&s, &len);
    tap_ok(len == 1 && *s == 'x', "trim moves the start pointer");
}
