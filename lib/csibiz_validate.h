
/*
 * Validators, normalizers and masks for what the portal's forms carry:
 * resident ID numbers, mobile phone numbers, social security card numbers,
 * postcodes, bank card numbers and dates; masking for display and logs.
 * Plain C, no nginx headers; conventions as in csibiz_utf8.h (*_valid
 * returns 1/0, other functions 0/-1 or an enum, caller-provided buffers).
 *
 * The phone, social card and bank card normalizers take raw form input:
 * they trim white space as csibiz_utf8_trim() does, validate, and write a
 * NUL-terminated canonical form into out, which must have the *_SIZE
 * given below; they return 0, or -1 (out is then undefined).
 */


#ifndef CSIBIZ_VALIDATE_H
#define CSIBIZ_VALIDATE_H


#include <stddef.h>

#include "csibiz_utf8.h"


#define CSIBIZ_ID_NUMBER_LEN        18
#define CSIBIZ_ID_NUMBER_SIZE       (CSIBIZ_ID_NUMBER_LEN + 1)
#define CSIBIZ_PHONE_LEN            11
#define CSIBIZ_PHONE_SIZE           (CSIBIZ_PHONE_LEN + 1)
#define CSIBIZ_SOCIAL_CARD_LEN      12
#define CSIBIZ_SOCIAL_CARD_SIZE     (CSIBIZ_SOCIAL_CARD_LEN + 1)
#define CSIBIZ_HANDBOOK_NO_MIN_LEN  8
#define CSIBIZ_HANDBOOK_NO_MAX_LEN  20
#define CSIBIZ_HANDBOOK_NO_SIZE     (CSIBIZ_HANDBOOK_NO_MAX_LEN + 1)
/* either number, as csibiz_insurance_no_normalize() writes it */
#define CSIBIZ_INSURANCE_NO_SIZE    CSIBIZ_HANDBOOK_NO_SIZE
#define CSIBIZ_POSTCODE_LEN         6
#define CSIBIZ_BANK_CARD_MIN_LEN    16
#define CSIBIZ_BANK_CARD_MAX_LEN    19
#define CSIBIZ_BANK_CARD_SIZE       (CSIBIZ_BANK_CARD_MAX_LEN + 1)

/* sex codes of GB/T 2261.1, as csibiz_id_number_gender() returns them */
#define CSIBIZ_GENDER_MALE          1
#define CSIBIZ_GENDER_FEMALE        2


typedef struct {
    int    year;
    int    month;                   /* 1 to 12 */
    int    day;                     /* 1 to 31 */
} csibiz_date_t;


/*
 * Why csibiz_id_number_check() refused an ID number, in the order it
 * checks: the first problem found is reported.  The checksum comes last so
 * that a mistyped birth date or province is named as such rather than as
 * a bad check character.
 */
typedef enum {
    CSIBIZ_ID_OK = 0,
    CSIBIZ_ID_LENGTH,               /* not 18 characters (15-digit IDs too) */
    CSIBIZ_ID_CHARSET,              /* not 17 digits and a digit, X or x */
    CSIBIZ_ID_PROVINCE,             /* first two digits: no such province */
    CSIBIZ_ID_BIRTH_DATE,           /* no such day, before 1900, future */
    CSIBIZ_ID_CHECKSUM              /* MOD 11-2 check character wrong */
} csibiz_id_rc_t;


/* dates */

/* 1 when date is a real day of the Gregorian calendar, years 1 to 9999 */
int csibiz_date_valid(const csibiz_date_t *date);

/* <0, 0 or >0 as a is before, the same day as, or after b */
int csibiz_date_compare(const csibiz_date_t *a, const csibiz_date_t *b);

/*
 * The calendar day at unix time seconds in a zone utc_offset seconds east
 * of UTC: China is 8 * 3600, all year.  Pure arithmetic, independent of
 * the process's TZ.  -1 outside years 1 to 9999.
 */
int csibiz_date_from_unix(long long seconds, long utc_offset,
    csibiz_date_t *date);

/*
 * The day in China at a PostgreSQL timestamp written "YYYY-MM-DD
 * HH:MM[:SS[.fraction]]" and an optional UTC offset "+HH", "-HH",
 * "+HH:MM" or "+HHMM" (a space before it allowed); without an offset the
 * time is China's.  0, or -1 when s is not of that form or no real time.
 */
int csibiz_date_in_china(const char *s, size_t len, csibiz_date_t *day);

/*
 * Completed years of age on day for someone born on birth, -1 if day is
 * before birth.  Born on 29 February: a year is completed on 1 March in
 * common years.
 */
int csibiz_age_on(const csibiz_date_t *birth, const csibiz_date_t *day);


/* resident ID numbers (GB 11643-1999) */

/*
 * Checks an 18-character resident ID number: 17 digits and a MOD 11-2
 * check character (digit or X, x accepted), the first two digits a
 * province of GB/T 2260 or 71 (Taiwan), 81 (Hong Kong), 82 (Macau), 83
 * (the residence permits of Taiwan residents, issued since 2018), the
 * birth date (characters 7 to 14, YYYYMMDD) a real day from 1900-01-01 to
 * today.  The prefecture and county digits are not checked: the list
 * changes every year.  15-digit IDs (pre-1999) and foreigners' permanent
 * residence cards (starting with 9) are refused.
 *
 * On CSIBIZ_ID_OK stores the birth date into *birth unless birth is NULL.
 * today is the current day in China (see csibiz_date_from_unix()).
 */
csibiz_id_rc_t csibiz_id_number_check(const char *s, size_t len,
    csibiz_date_t *birth, const csibiz_date_t *today);

/* a stable lower-case code for rc: "ok", "length", "charset", ... */
const char *csibiz_id_rc_name(csibiz_id_rc_t rc);

/*
 * Copies an 18-character ID number into out (CSIBIZ_ID_NUMBER_SIZE bytes)
 * with a lower-case check character x made X, NUL-terminated.  It only
 * refuses a length other than 18 (-1): check the number first.
 */
int csibiz_id_number_normalize(const char *s, size_t len, char *out);

/*
 * The sex coded by the 17th character (odd: male): CSIBIZ_GENDER_MALE or
 * CSIBIZ_GENDER_FEMALE, -1 if s is not 18 characters with a digit there.
 */
int csibiz_id_number_gender(const char *s, size_t len);


/* other numbers */

/*
 * A mainland mobile number: after trimming and an optional "+86" or
 * "0086" prefix, exactly 11 digits matching 1[3-9]xxxxxxxxx.  Nothing
 * else is accepted: no inner spaces or hyphens, no bare "86".  Writes the
 * 11 digits into out (CSIBIZ_PHONE_SIZE bytes).
 */
int csibiz_phone_normalize(const char *in, size_t len, char *out);

/* 1 for exactly 11 digits matching 1[3-9]xxxxxxxxx */
int csibiz_phone_valid(const char *s, size_t len);

/*
 * A social security card number (社会保障卡卡号): after trimming, 12
 * ASCII letters or digits, written upper-cased into out
 * (CSIBIZ_SOCIAL_CARD_SIZE bytes).
 */
int csibiz_social_card_normalize(const char *in, size_t len, char *out);

/* 1 for exactly 12 characters of [0-9A-Z] */
int csibiz_social_card_valid(const char *s, size_t len);

/*
 * A medical-insurance handbook number (医疗保险手册号): after trimming, 8
 * to 20 ASCII letters or digits, written upper-cased and NUL-terminated
 * into out (CSIBIZ_HANDBOOK_NO_SIZE bytes).
 */
int csibiz_handbook_no_normalize(const char *in, size_t len, char *out);

/*
 * The number a parent names the child's insurance by: a social security
 * card number or a handbook number, as the parents' guide lets them
 * choose; normalized into out (CSIBIZ_INSURANCE_NO_SIZE bytes).  Which
 * one it is only the roster says: a 12-character number may be either.
 */
int csibiz_insurance_no_normalize(const char *in, size_t len, char *out);

/* 1 for exactly 6 ASCII digits, a mainland postcode */
int csibiz_postcode_valid(const char *s, size_t len);

/*
 * 1 when digits is one or more ASCII digits passing the Luhn (mod 10)
 * check; length rules are the caller's, see csibiz_bank_card_valid().
 */
int csibiz_luhn_valid(const char *digits, size_t len);

/* 1 for 16 to 19 ASCII digits passing the Luhn check */
int csibiz_bank_card_valid(const char *s, size_t len);

/*
 * A bank card number as people type it: after trimming, digits grouped by
 * single spaces or hyphens ("6222 0212 3456 7890 128") are accepted; the
 * digits must make a valid card (csibiz_bank_card_valid()).  Writes them
 * into out (CSIBIZ_BANK_CARD_SIZE bytes).
 */
int csibiz_bank_card_normalize(const char *in, size_t len, char *out);


/* masking for display and logs */

/*
 * Copies the UTF-8 text in into out, NUL-terminated, keeping the first
 * keep_head and the last keep_tail characters and replacing each other
 * character by one '*'.  At least one character is always masked: when
 * the text has no more than keep_head + keep_tail characters, keep_tail
 * shrinks first, then keep_head ("张三丰" (1, 1) -> "张*丰", "张三" ->
 * "张*", "张" -> "*"); the empty text stays empty.  out_size >= len + 1
 * always suffices.  -1 when in is not valid UTF-8 (csibiz_utf8_valid())
 * or out is too small.
 */
int csibiz_mask(const char *in, size_t len, size_t keep_head,
    size_t keep_tail, char *out, size_t out_size);

/* a name: first and last character kept, csibiz_mask(1, 1) */
int csibiz_mask_name(const char *in, size_t len, char *out,
    size_t out_size);

/* an ID number: first 3 and last 4 characters, "110***********002X" */
int csibiz_mask_id_number(const char *in, size_t len, char *out,
    size_t out_size);

/* a phone number: first 3 and last 4 digits, "138****5678" */
int csibiz_mask_phone(const char *in, size_t len, char *out,
    size_t out_size);


#endif /* CSIBIZ_VALIDATE_H */
