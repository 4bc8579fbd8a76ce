
/*
 * lib/csibiz_bank.c, the bank-account form.  The first byte picks the
 * function.  Oracles: an accepted account number is written as digits
 * only, which are accepted again unchanged (a card's also by
 * csibiz_bank_card_valid()); an accepted name or address is valid UTF-8
 * within its length in characters and stays accepted when written into
 * an exact-size copy; contact phones and postcodes are fixed points.
 */


#include "fuzz.h"

#include "csibiz_bank.h"
#include "csibiz_validate.h"


typedef csibiz_acct_rc_t (*fuzz_acct_pt)(const char *in, size_t len,
    char *out, size_t *outlen);


static void fuzz_account(const char *s, size_t len, fuzz_acct_pt check,
    int card);
static void fuzz_text(const char *s, size_t len, int name);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char    *s;
    size_t   len;

    if (size == 0) {
        return 0;
    }

    len = size - 1;
    s = fuzz_dup(data + 1, len);

    switch (data[0] % 6) {

    case 0:
        fuzz_account(s, len, csibiz_card_number_check, 1);
        break;

    case 1:
        fuzz_account(s, len, csibiz_passbook_number_check, 0);
        break;

    case 2:
        fuzz_text(s, len, 1);
        break;

    case 3:
        fuzz_text(s, len, 0);
        break;

    case 4:
        free(fuzz_fixed_point(s, len, csibiz_contact_phone_normalize,
                              CSIBIZ_CONTACT_PHONE_SIZE));
        break;

    default:
        free(fuzz_fixed_point(s, len, csibiz_postcode_normalize,
                              CSIBIZ_POSTCODE_LEN + 1));
        break;
    }

    free(s);

    return 0;
}


static void
fuzz_account(const char *s, size_t len, fuzz_acct_pt check, int card)
{
    char              *out, *again;
    size_t             i, n, n2;
    csibiz_acct_rc_t   rc;

    out = fuzz_buf(CSIBIZ_ACCOUNT_NO_SIZE);

    rc = check(s, len, out, &n);
    FUZZ_CHECK(strcmp(csibiz_acct_rc_name(rc), "unknown") != 0);

    if (rc == CSIBIZ_ACCT_OK) {
        FUZZ_CHECK(n < CSIBIZ_ACCOUNT_NO_SIZE && strlen(out) == n);

        for (i = 0; i < n; i++) {
            FUZZ_CHECK(out[i] >= '0' && out[i] <= '9');
        }

        if (card) {
            FUZZ_CHECK(csibiz_bank_card_valid(out, n));
        } else {
            FUZZ_CHECK(n >= CSIBIZ_PASSBOOK_MIN_LEN
                       && n <= CSIBIZ_PASSBOOK_MAX_LEN);
        }

        again = fuzz_buf(CSIBIZ_ACCOUNT_NO_SIZE);
        FUZZ_CHECK(check(out, n, again, &n2) == CSIBIZ_ACCT_OK);
        FUZZ_CHECK(n2 == n && memcmp(again, out, n + 1) == 0);
        free(again);
    }

    free(out);
}


static void
fuzz_text(const char *s, size_t len, int name)
{
    size_t            chars;
    csibiz_text_rc_t  rc;

    rc = name ? csibiz_person_name_check(s, len) : csibiz_address_check(s, len);
    FUZZ_CHECK(strcmp(csibiz_text_rc_name(rc), "unknown") != 0);

    if (rc == CSIBIZ_TEXT_OK) {
        FUZZ_CHECK(csibiz_utf8_count(s, len, &chars) == 0);

        if (name) {
            FUZZ_CHECK(chars >= CSIBIZ_PERSON_NAME_MIN
                       && chars <= CSIBIZ_PERSON_NAME_MAX);
        } else {
            FUZZ_CHECK(chars >= CSIBIZ_ADDRESS_MIN
                       && chars <= CSIBIZ_ADDRESS_MAX);
            FUZZ_CHECK(memchr(s, '<', len) == NULL);
            FUZZ_CHECK(memchr(s, '"', len) == NULL);
        }
    }
}

