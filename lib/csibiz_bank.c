
/*
 * The bank-account form's fields; see csibiz_bank.h for what each
 * accepts.
 */


#include <string.h>

#include "csibiz_bank.h"
#include "csibiz_utf8.h"
#include "csibiz_validate.h"


#define CSIBIZ_IS_DIGIT(c)  ((c) >= '0' && (c) <= '9')


static csibiz_acct_rc_t csibiz_digits_check(const char *in, size_t len,
    int grouped, size_t min, size_t max, char *out, size_t *outlen);
static int csibiz_name_letter(uint32_t cp);
static int csibiz_name_separator(uint32_t cp);
static int csibiz_landline_valid(const char *s, size_t len);
static int csibiz_trimmed_copy(const char *in, size_t len, char *out,
    int (*valid)(const char *s, size_t len));


/*
 * Digits into out; with grouped, single spaces or hyphens between two
 * digits are skipped.  More than max digits is a length error, but only
 * once the whole text is known to be digits.
 */

static csibiz_acct_rc_t
csibiz_digits_check(const char *in, size_t len, int grouped, size_t min,
    size_t max, char *out, size_t *outlen)
{
    size_t  i, n;

    csibiz_utf8_trim(&in, &len);

    n = 0;

    for (i = 0; i < len; i++) {

        if (CSIBIZ_IS_DIGIT(in[i])) {
            if (n < max) {
                out[n] = in[i];
            }

            n++;
            continue;
        }

        if (grouped
            && (in[i] == ' ' || in[i] == '-')
            && i > 0 && CSIBIZ_IS_DIGIT(in[i - 1])
            && i + 1 < len && CSIBIZ_IS_DIGIT(in[i + 1]))
        {
            continue;
        }

        return CSIBIZ_ACCT_FORMAT;
    }

    if (n == 0) {
        return CSIBIZ_ACCT_FORMAT;
    }

    if (n < min || n > max) {
        return CSIBIZ_ACCT_LENGTH;
    }

    out[n] = '\0';
    *outlen = n;

    return CSIBIZ_ACCT_OK;
}


csibiz_acct_rc_t
csibiz_card_number_check(const char *in, size_t len, char *out,
    size_t *outlen)
{
    csibiz_acct_rc_t  rc;

    rc = csibiz_digits_check(in, len, 1, CSIBIZ_BANK_CARD_MIN_LEN,
                             CSIBIZ_BANK_CARD_MAX_LEN, out, outlen);

    if (rc != CSIBIZ_ACCT_OK) {
        return rc;
    }

    if (!csibiz_luhn_valid(out, *outlen)) {
        return CSIBIZ_ACCT_LUHN;
    }

    return CSIBIZ_ACCT_OK;
}


csibiz_acct_rc_t
csibiz_passbook_number_check(const char *in, size_t len, char *out,
    size_t *outlen)
{
    return csibiz_digits_check(in, len, 0, CSIBIZ_PASSBOOK_MIN_LEN,
                               CSIBIZ_PASSBOOK_MAX_LEN, out, outlen);
}


const char *
csibiz_acct_rc_name(csibiz_acct_rc_t rc)
{
    switch (rc) {
    case CSIBIZ_ACCT_OK:
        return "ok";
    case CSIBIZ_ACCT_FORMAT:
        return "format";
    case CSIBIZ_ACCT_LENGTH:
        return "length";
    case CSIBIZ_ACCT_LUHN:
        return "luhn";
    }

    return "unknown";
}


/*
 * Letters, by block: there is no Unicode database here, so whole blocks
 * of scripts count, and the blocks of digits, punctuation and symbols
 * (U+2000-U+2E7F, U+3000-U+303F, the fullwidth forms' ASCII part,
 * emoji) do not.
 */

static int
csibiz_name_letter(uint32_t cp)
{
    if ((cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z')) {
        return 1;
    }

    return (cp >= 0x00c0 && cp <= 0x024f && cp != 0x00d7 && cp != 0x00f7)
           || (cp >= 0x0370 && cp <= 0x1fff)       /* Greek to Greek ext. */
           || (cp >= 0x2e80 && cp <= 0x2fdf)       /* CJK radicals */
           || (cp >= 0x3040 && cp <= 0x9fff && cp != 0x30fb) /* kana, CJK */
           || (cp >= 0xac00 && cp <= 0xd7af)       /* Hangul */
           || (cp >= 0xf900 && cp <= 0xfaff)       /* CJK compatibility */
           || (cp >= 0x20000 && cp <= 0x3134f);    /* CJK extensions */
}


static int
csibiz_name_separator(uint32_t cp)
{
    return cp == ' ' || cp == '.' || cp == '-' || cp == '\''
           || cp == 0x00b7 || cp == 0x2022 || cp == 0x30fb;
}


csibiz_text_rc_t
csibiz_person_name_check(const char *s, size_t len)
{
    size_t    n, count;
    uint32_t  cp, prev;

    count = 0;
    prev = 0;

    while (len) {
        n = csibiz_utf8_decode(s, len, &cp);

        if (n == 0 || cp == 0) {
            return CSIBIZ_TEXT_CHARSET;
        }

        if (csibiz_name_letter(cp)) {
            /* fine */

        } else if (csibiz_name_separator(cp)) {

            /* between letters; "J. Smith" is the one double separator */
            if (count == 0
                || (csibiz_name_separator(prev)
                    && !(prev == '.' && cp == ' ')))
            {
                return CSIBIZ_TEXT_CHARSET;
            }

        } else {
            return CSIBIZ_TEXT_CHARSET;
        }

        prev = cp;
        count++;
        s += n;
        len -= n;
    }

    if (count && csibiz_name_separator(prev) && prev != '.') {
        return CSIBIZ_TEXT_CHARSET;
    }

    if (count < CSIBIZ_PERSON_NAME_MIN || count > CSIBIZ_PERSON_NAME_MAX) {
        return CSIBIZ_TEXT_LENGTH;
    }

    return CSIBIZ_TEXT_OK;
}


csibiz_text_rc_t
csibiz_address_check(const char *s, size_t len)
{
    size_t    n, count;
    uint32_t  cp;

    count = 0;

    while (len) {
        n = csibiz_utf8_decode(s, len, &cp);

        if (n == 0
            || cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)
            || cp == 0x2028 || cp == 0x2029
            || cp == '<' || cp == '>' || cp == '"' || cp == '\\')
        {
            return CSIBIZ_TEXT_CHARSET;
        }

        count++;
        s += n;
        len -= n;
    }

    if (count < CSIBIZ_ADDRESS_MIN || count > CSIBIZ_ADDRESS_MAX) {
        return CSIBIZ_TEXT_LENGTH;
    }

    return CSIBIZ_TEXT_OK;
}


const char *
csibiz_text_rc_name(csibiz_text_rc_t rc)
{
    switch (rc) {
    case CSIBIZ_TEXT_OK:
        return "ok";
    case CSIBIZ_TEXT_CHARSET:
        return "charset";
    case CSIBIZ_TEXT_LENGTH:
        return "length";
    }

    return "unknown";
}


/* 0 + area code (2 or 3 digits, not 0...) + optional '-' + 7 or 8 digits */

static int
csibiz_landline_valid(const char *s, size_t len)
{
    size_t  i, area, number;

    if (len < 10 || s[0] != '0' || s[1] == '0') {
        return 0;
    }

    for (area = 2; area <= 3; area++) {
        i = 1 + area;

        if (i < len && s[i] == '-') {
            i++;
        }

        number = len - i;

        if (number < 7 || number > 8 || len > CSIBIZ_CONTACT_PHONE_MAX
            || s[i] == '0')
        {
            continue;
        }

        for (i = 1; i < len; i++) {
            if (!CSIBIZ_IS_DIGIT(s[i]) && !(i == 1 + area && s[i] == '-')) {
                break;
            }
        }

        if (i == len) {
            return 1;
        }
    }

    return 0;
}


int
csibiz_contact_phone_normalize(const char *in, size_t len, char *out)
{
    if (csibiz_phone_normalize(in, len, out) == 0) {
        return 0;
    }

    return csibiz_trimmed_copy(in, len, out, csibiz_landline_valid);
}


int
csibiz_postcode_normalize(const char *in, size_t len, char *out)
{
    return csibiz_trimmed_copy(in, len, out, csibiz_postcode_valid);
}


/* the value trimmed, copied into out with a NUL if valid() accepts it */

static int
csibiz_trimmed_copy(const char *in, size_t len, char *out,
    int (*valid)(const char *s, size_t len))
{
    csibiz_utf8_trim(&in, &len);

    if (!valid(in, len)) {
        return -1;
    }

    memcpy(out, in, len);
    out[len] = '\0';

    return 0;
}
