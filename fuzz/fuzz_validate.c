
/*
 * lib/csibiz_validate.c.  The first byte picks the function, the rest is
 * its input.  Oracles: what a normalizer accepts, it writes in a form
 * that it and the matching *_valid() accept again, unchanged (a fixed
 * point); an accepted ID number normalizes to one accepted with the same
 * birth date, which is a real day not after today; masks keep the number
 * of characters and mask at least one; dates from unix time are real days
 * and compare() is antisymmetric.
 */


#include "fuzz.h"

#include "csibiz_validate.h"


typedef int (*fuzz_normalize_pt)(const char *in, size_t len, char *out);
typedef int (*fuzz_valid_pt)(const char *s, size_t len);


static void fuzz_id_number(const char *s, size_t len);
static void fuzz_normalizer(const char *s, size_t len,
    fuzz_normalize_pt normalize, fuzz_valid_pt valid, size_t size);
static void fuzz_insurance_no(const char *s, size_t len);
static void fuzz_mask(const char *s, size_t len, uint8_t sel);
static void fuzz_dates(const uint8_t *data, size_t size);


static const csibiz_date_t  fuzz_today = { 2026, 11, 27 };


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char           *s;
    size_t          len;
    uint8_t         sel;
    csibiz_date_t   day;

    if (size == 0) {
        return 0;
    }

    sel = data[0];
    len = size - 1;
    s = fuzz_dup(data + 1, len);

    switch (sel % 8) {

    case 0:
        fuzz_id_number(s, len);
        break;

    case 1:
        fuzz_normalizer(s, len, csibiz_phone_normalize, csibiz_phone_valid,
                        CSIBIZ_PHONE_SIZE);
        break;

    case 2:
        fuzz_normalizer(s, len, csibiz_social_card_normalize,
                        csibiz_social_card_valid, CSIBIZ_SOCIAL_CARD_SIZE);
        fuzz_insurance_no(s, len);
        break;

    case 3:
        fuzz_normalizer(s, len, csibiz_bank_card_normalize,
                        csibiz_bank_card_valid, CSIBIZ_BANK_CARD_SIZE);
        break;

    case 4:
        if (csibiz_bank_card_valid(s, len)) {
            FUZZ_CHECK(csibiz_luhn_valid(s, len));
        }

        if (csibiz_postcode_valid(s, len)) {
            FUZZ_CHECK(len == CSIBIZ_POSTCODE_LEN);
        }

        if (csibiz_date_in_china(s, len, &day) == 0) {
            FUZZ_CHECK(csibiz_date_valid(&day));
        }

        break;

    case 5:
    case 6:
        fuzz_mask(s, len, sel);
        break;

    default:
        fuzz_dates(data + 1, len);
        break;
    }

    free(s);

    return 0;
}


/* either number: a fixed point, and a card's or a handbook's length */

static void
fuzz_insurance_no(const char *s, size_t len)
{
    char    *out;
    size_t   n;

    out = fuzz_fixed_point(s, len, csibiz_insurance_no_normalize,
                           CSIBIZ_INSURANCE_NO_SIZE);

    if (out) {
        n = strlen(out);
        FUZZ_CHECK(n >= CSIBIZ_HANDBOOK_NO_MIN_LEN
                   && n <= CSIBIZ_HANDBOOK_NO_MAX_LEN);
        free(out);
    }
}


static void
fuzz_id_number(const char *s, size_t len)
{
    int             gender;
    char           *out;
    csibiz_date_t   birth, birth2;
    csibiz_id_rc_t  rc;

    rc = csibiz_id_number_check(s, len, &birth, &fuzz_today);
    FUZZ_CHECK(strcmp(csibiz_id_rc_name(rc), "unknown") != 0);

    gender = csibiz_id_number_gender(s, len);
    FUZZ_CHECK(gender == -1 || gender == CSIBIZ_GENDER_MALE
               || gender == CSIBIZ_GENDER_FEMALE);

    out = fuzz_buf(CSIBIZ_ID_NUMBER_SIZE);

    /* it only checks the length, the check comes first */
    FUZZ_CHECK((csibiz_id_number_normalize(s, len, out) == 0)
               == (len == CSIBIZ_ID_NUMBER_LEN));

    if (rc == CSIBIZ_ID_OK) {
        FUZZ_CHECK(strlen(out) == CSIBIZ_ID_NUMBER_LEN);
        FUZZ_CHECK(csibiz_date_valid(&birth));
        FUZZ_CHECK(csibiz_date_compare(&birth, &fuzz_today) <= 0);
        FUZZ_CHECK(gender != -1);
        FUZZ_CHECK(csibiz_id_number_check(out, CSIBIZ_ID_NUMBER_LEN, &birth2,
                                          &fuzz_today) == CSIBIZ_ID_OK);
        FUZZ_CHECK(csibiz_date_compare(&birth, &birth2) == 0);
        FUZZ_CHECK(csibiz_id_number_gender(out, CSIBIZ_ID_NUMBER_LEN)
                   == gender);
        FUZZ_CHECK(csibiz_age_on(&birth, &fuzz_today) >= 0);
    }

    free(out);
}


static void
fuzz_normalizer(const char *s, size_t len, fuzz_normalize_pt normalize,
    fuzz_valid_pt valid, size_t size)
{
    char  *out;

    out = fuzz_fixed_point(s, len, normalize, size);

    if (out) {
        FUZZ_CHECK(valid(out, strlen(out)));
        free(out);

    } else {
        FUZZ_CHECK(!valid(s, len));
    }
}


static void
fuzz_mask(const char *s, size_t len, uint8_t sel)
{
    int      rc;
    char    *out;
    size_t   i, chars, out_chars, stars, head, tail;

    head = (sel >> 5) & 7;
    tail = len % 4;

    out = fuzz_buf(len + 1);

    switch ((sel >> 3) % 4) {
    case 0:
        rc = csibiz_mask_name(s, len, out, len + 1);
        break;
    case 1:
        rc = csibiz_mask_id_number(s, len, out, len + 1);
        break;
    case 2:
        rc = csibiz_mask_phone(s, len, out, len + 1);
        break;
    default:
        rc = csibiz_mask(s, len, head, tail, out, len + 1);
        break;
    }

    FUZZ_CHECK((rc == 0) == csibiz_utf8_valid(s, len));

    if (rc == 0) {
        FUZZ_CHECK(csibiz_utf8_count(s, len, &chars) == 0);
        FUZZ_CHECK(csibiz_utf8_count(out, strlen(out), &out_chars) == 0);
        FUZZ_CHECK(out_chars == chars);

        for (stars = 0, i = 0; out[i]; i++) {
            stars += (out[i] == '*');
        }

        FUZZ_CHECK(chars == 0 || stars >= 1);
    }

    free(out);
}


static void
fuzz_dates(const uint8_t *data, size_t size)
{
    int            ca, cb;
    long           offset;
    int32_t        o;
    int64_t        seconds;
    csibiz_date_t  a, b;

    if (size < 12) {
        return;
    }

    memcpy(&seconds, data, 8);
    memcpy(&o, data + 8, 4);
    offset = o;

    /* most of the 64-bit range is refused at once: aim near it too */
    if (data[0] & 1) {
        seconds %= 300000000000LL;
        offset %= 90000;
    }

    if (csibiz_date_from_unix(seconds, offset, &a) == 0) {
        FUZZ_CHECK(csibiz_date_valid(&a));

        if (csibiz_date_from_unix(seconds + 86400, offset, &b) == 0) {
            FUZZ_CHECK(csibiz_date_compare(&a, &b) < 0);
            FUZZ_CHECK(csibiz_age_on(&a, &b) == 0);
            FUZZ_CHECK(csibiz_age_on(&b, &a) == -1);
        }

        b = fuzz_today;
        ca = csibiz_date_compare(&a, &b);
        cb = csibiz_date_compare(&b, &a);
        FUZZ_CHECK((ca < 0 && cb > 0) || (ca > 0 && cb < 0)
                   || (ca == 0 && cb == 0));
    }

    /* any three ints: never a crash or an overflow */
    memcpy(&a.year, data, 4);
    memcpy(&a.month, data + 4, 4);
    memcpy(&a.day, data + 8, 4);
    (void) csibiz_date_valid(&a);
}
