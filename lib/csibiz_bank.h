
/*
 * The bank-account form: account numbers (cards and passbooks), the
 * account holder's name, address and contact phone.  Plain C, no nginx
 * headers; conventions as in csibiz_utf8.h (*_valid returns 1/0, checks
 * return an enum naming the first problem, caller-provided buffers).
 *
 * What depends on the bank (whose card prefixes, which passbook lengths,
 * which accounts cannot be debited) is data in PostgreSQL, not here.
 */


#ifndef CSIBIZ_BANK_H
#define CSIBIZ_BANK_H


#include <stddef.h>


/* passbook account numbers: digits only, the bank decides the length */
#define CSIBIZ_PASSBOOK_MIN_LEN     8
#define CSIBIZ_PASSBOOK_MAX_LEN     25

/* room for any account number, card or passbook, and a NUL */
#define CSIBIZ_ACCOUNT_NO_SIZE      (CSIBIZ_PASSBOOK_MAX_LEN + 1)

/*
 * The leading digits that may leave the module in plain text: enough for
 * an 8-digit BIN (ISO/IEC 7812 since 2017) and for the prefixes of known
 * non-debitable account kinds.  Never stored.
 */
#define CSIBIZ_ACCOUNT_HEAD_LEN     8

/* a contact phone: a mobile (11 digits) or "0AAA-NNNNNNNN" */
#define CSIBIZ_CONTACT_PHONE_MAX    13
#define CSIBIZ_CONTACT_PHONE_SIZE   (CSIBIZ_CONTACT_PHONE_MAX + 1)

/* the account holder's name and address, in characters (code points) */
#define CSIBIZ_PERSON_NAME_MIN      2
#define CSIBIZ_PERSON_NAME_MAX      30
#define CSIBIZ_ADDRESS_MIN          5
#define CSIBIZ_ADDRESS_MAX          100


/* why an account number was refused, in the order it is checked */
typedef enum {
    CSIBIZ_ACCT_OK = 0,
    CSIBIZ_ACCT_FORMAT,             /* something else than digits */
    CSIBIZ_ACCT_LENGTH,             /* too few or too many digits */
    CSIBIZ_ACCT_LUHN                /* a card's check digit is wrong */
} csibiz_acct_rc_t;


/* why a name or an address was refused */
typedef enum {
    CSIBIZ_TEXT_OK = 0,
    CSIBIZ_TEXT_CHARSET,            /* invalid UTF-8 or a refused character */
    CSIBIZ_TEXT_LENGTH              /* too few or too many characters */
} csibiz_text_rc_t;


/*
 * A card number as people type it: after trimming (csibiz_utf8_trim()),
 * digits, optionally grouped by single spaces or hyphens between digits
 * ("6222 0212 3456 7890 128"); 16 to 19 digits passing the Luhn check.
 * On CSIBIZ_ACCT_OK the digits go to out (CSIBIZ_ACCOUNT_NO_SIZE bytes),
 * NUL-terminated, and their number to *outlen.
 */
csibiz_acct_rc_t csibiz_card_number_check(const char *in, size_t len,
    char *out, size_t *outlen);

/*
 * A passbook account number: after trimming, CSIBIZ_PASSBOOK_MIN_LEN to
 * CSIBIZ_PASSBOOK_MAX_LEN ASCII digits and nothing else (passbooks print
 * the number ungrouped); no check digit is known.  Output as above.
 */
csibiz_acct_rc_t csibiz_passbook_number_check(const char *in, size_t len,
    char *out, size_t *outlen);

/* "ok", "format", "length", "luhn" */
const char *csibiz_acct_rc_name(csibiz_acct_rc_t rc);

/*
 * An account holder's name as the bank has it, already trimmed: 2 to 30
 * characters of letters (any script), with the separators of names --
 * space, '.', '-', '\'' and the middle dots U+00B7, U+2022, U+30FB of
 * transliterated names ("阿依古丽·买买提") -- between letters.  No
 * digits, no other punctuation or symbols, no control characters.
 */
csibiz_text_rc_t csibiz_person_name_check(const char *s, size_t len);

/*
 * A residential address, already trimmed: 5 to 100 characters of valid
 * UTF-8 without control characters (C0, DEL, C1, U+2028, U+2029) and
 * without '<', '>', '"', '\\', which no address needs.
 */
csibiz_text_rc_t csibiz_address_check(const char *s, size_t len);

/* "ok", "charset", "length" */
const char *csibiz_text_rc_name(csibiz_text_rc_t rc);

/*
 * A contact phone: a mobile number as csibiz_phone_normalize() takes it
 * (written as its 11 digits), or a mainland landline with its area code:
 * '0', a 2- or 3-digit area code not starting with 0, an optional '-',
 * and a 7- or 8-digit number not starting with 0 ("010-62345678",
 * "075512345678"), written as given.  Trimmed first; out has
 * CSIBIZ_CONTACT_PHONE_SIZE bytes.  0, or -1.
 */
int csibiz_contact_phone_normalize(const char *in, size_t len, char *out);

/* a 6-digit mainland postcode after trimming, into out (7 bytes); 0/-1 */
int csibiz_postcode_normalize(const char *in, size_t len, char *out);


#endif /* CSIBIZ_BANK_H */
