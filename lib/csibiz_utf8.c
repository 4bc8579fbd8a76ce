
/*
 * UTF-8 decoding, validation and trimming, after the table of well-formed
 * byte sequences in the Unicode Standard (chapter 3, table 3-7): checking
 * the second byte's range per lead byte refuses overlong forms, surrogates
 * and code points above U+10FFFF without decoding first.
 */


#include "csibiz_utf8.h"


static size_t csibiz_utf8_space_at_start(const unsigned char *p, size_t len);
static size_t csibiz_utf8_space_at_end(const unsigned char *p, size_t len);


size_t
csibiz_utf8_decode(const char *s, size_t len, uint32_t *code_point)
{
    size_t                need, i;
    uint32_t              cp;
    unsigned char         lo, hi;
    const unsigned char  *p;

    if (len == 0) {
        return 0;
    }

    p = (const unsigned char *) s;

    if (p[0] < 0x80) {
        *code_point = p[0];
        return 1;
    }

    /* a continuation byte, C0/C1 (always overlong) or F5..FF */
    if (p[0] < 0xc2 || p[0] > 0xf4) {
        return 0;
    }

    need = (p[0] >= 0xf0) ? 4 : (p[0] >= 0xe0) ? 3 : 2;
    cp = p[0] & (0x7f >> need);

    /*
     * The second byte is 80..BF but after four lead bytes: it starts higher
     * after E0 and F0 (below: overlong), and ends lower after ED (above:
     * UTF-16 surrogates) and F4 (above: beyond U+10FFFF).
     */
    lo = (p[0] == 0xe0) ? 0xa0 : (p[0] == 0xf0) ? 0x90 : 0x80;
    hi = (p[0] == 0xed) ? 0x9f : (p[0] == 0xf4) ? 0x8f : 0xbf;

    if (len < need || p[1] < lo || p[1] > hi) {
        return 0;
    }

    cp = (cp << 6) | (p[1] & 0x3f);

    for (i = 2; i < need; i++) {
        if (p[i] < 0x80 || p[i] > 0xbf) {
            return 0;
        }

        cp = (cp << 6) | (p[i] & 0x3f);
    }

    *code_point = cp;

    return need;
}


size_t
csibiz_utf8_encode(uint32_t code_point, char *out)
{
    unsigned char  *p;

    p = (unsigned char *) out;

    if (code_point < 0x80) {
        p[0] = (unsigned char) code_point;
        return 1;
    }

    if (code_point < 0x800) {
        p[0] = (unsigned char) (0xc0 | (code_point >> 6));
        p[1] = (unsigned char) (0x80 | (code_point & 0x3f));
        return 2;
    }

    if (code_point >= 0xd800 && code_point <= 0xdfff) {
        return 0;
    }

    if (code_point < 0x10000) {
        p[0] = (unsigned char) (0xe0 | (code_point >> 12));
        p[1] = (unsigned char) (0x80 | ((code_point >> 6) & 0x3f));
        p[2] = (unsigned char) (0x80 | (code_point & 0x3f));
        return 3;
    }

    if (code_point <= 0x10ffff) {
        p[0] = (unsigned char) (0xf0 | (code_point >> 18));
        p[1] = (unsigned char) (0x80 | ((code_point >> 12) & 0x3f));
        p[2] = (unsigned char) (0x80 | ((code_point >> 6) & 0x3f));
        p[3] = (unsigned char) (0x80 | (code_point & 0x3f));
        return 4;
    }

    return 0;
}


int
csibiz_utf8_valid(const char *s, size_t len)
{
    size_t  count;

    return csibiz_utf8_count(s, len, &count) == 0;
}


int
csibiz_utf8_count(const char *s, size_t len, size_t *count)
{
    size_t    n, i, chars;
    uint32_t  cp;

    chars = 0;

    for (i = 0; i < len; i += n) {

        /* ASCII needs no decoding: the common case of form fields */
        if ((unsigned char) s[i] < 0x80) {
            if (s[i] == '\0') {
                return -1;
            }

            n = 1;

        } else {
            n = csibiz_utf8_decode(s + i, len - i, &cp);
            if (n == 0) {
                return -1;
            }
        }

        chars++;
    }

    *count = chars;

    return 0;
}


void
csibiz_utf8_trim(const char **s, size_t *len)
{
    size_t                n;
    const unsigned char  *p;

    p = (const unsigned char *) *s;

    while ((n = csibiz_utf8_space_at_start(p, *len)) != 0) {
        p += n;
        *len -= n;
    }

    while ((n = csibiz_utf8_space_at_end(p, *len)) != 0) {
        *len -= n;
    }

    *s = (const char *) p;
}


/*
 * The white space recognised by csibiz_utf8_trim(): returns the length of
 * the one at the start (or end) of p, 0 if there is none.  At the end,
 * C2 A0 and E3 80 80 are whole characters because C2 and E3 are lead
 * bytes, never continuation bytes.
 */

static size_t
csibiz_utf8_space_at_start(const unsigned char *p, size_t len)
{
    if (len >= 1
        && (p[0] == ' ' || (p[0] >= '\t' && p[0] <= '\r')))
    {
        return 1;
    }

    if (len >= 2 && p[0] == 0xc2 && p[1] == 0xa0) {
        return 2;
    }

    if (len >= 3 && p[0] == 0xe3 && p[1] == 0x80 && p[2] == 0x80) {
        return 3;
    }

    return 0;
}


static size_t
csibiz_utf8_space_at_end(const unsigned char *p, size_t len)
{
    if (len >= 1
        && (p[len - 1] == ' '
            || (p[len - 1] >= '\t' && p[len - 1] <= '\r')))
    {
        return 1;
    }

    if (len >= 2 && p[len - 2] == 0xc2 && p[len - 1] == 0xa0) {
        return 2;
    }

    if (len >= 3
        && p[len - 3] == 0xe3 && p[len - 2] == 0x80 && p[len - 1] == 0x80)
    {
        return 3;
    }

    return 0;
}
