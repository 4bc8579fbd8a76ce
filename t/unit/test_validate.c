
/*
 * Unit tests of lib/csibiz_validate.c.  The valid ID numbers' check
 * characters were computed independently (MOD 11-2 by hand in Python);
 * 11010519491231002X is GB 11643-1999's own example.  "Today" is fixed
 * at 2024-03-01 so that the results do not depend on the clock.
 */


#include <stdlib.h>
#include <string.h>

#include "csibiz_validate.h"
#include "tap.h"


static const csibiz_date_t  today = { 2024, 3, 1 };


static void test_dates(void);
static void test_date_from_unix(void);
static void test_date_in_china(void);
static void test_age(void);
static void test_id_valid(void);
static void test_id_refused(void);
static void test_id_typos(void);
static void test_id_helpers(void);
static void test_phone(void);
static void test_social_card(void);
static void test_handbook_no(void);
static void test_postcode(void);
static void test_luhn_and_bank_card(void);
static void test_mask(void);


int
main(void)
{
    test_dates();
    test_date_from_unix();
    test_date_in_china();
    test_age();
    test_id_valid();
    test_id_refused();
    test_id_typos();
    test_id_helpers();
    test_phone();
    test_social_card();
    test_handbook_no();
    test_postcode();
    test_luhn_and_bank_card();
    test_mask();

    return tap_done();
}


static void
test_dates(void)
{
    static const struct {
        csibiz_date_t  date;
        int            valid;
    } cases[] = {
        { { 2024, 1, 31 }, 1 },
        { { 2024, 2, 29 }, 1 },     /* divisible by 4 */
        { { 2023, 2, 29 }, 0 },
        { { 2000, 2, 29 }, 1 },     /* divisible by 400 */
        { { 1900, 2, 29 }, 0 },     /* by 100, not by 400 */
        { { 2100, 2, 29 }, 0 },
        { { 2024, 4, 31 }, 0 },
        { { 2024, 4, 30 }, 1 },
        { { 2024, 12, 31 }, 1 },
        { { 2024, 13, 1 }, 0 },
        { { 2024, 0, 1 }, 0 },
        { { 2024, 1, 0 }, 0 },
        { { 2024, 1, 32 }, 0 },
        { { 0, 1, 1 }, 0 },
        { { 1, 1, 1 }, 1 },
        { { 9999, 12, 31 }, 1 },
        { { 10000, 1, 1 }, 0 },
        { { -1, 1, 1 }, 0 },
    };

    size_t               i;
    const csibiz_date_t *d;

    for (i = 0; i < N(cases); i++) {
        d = &cases[i].date;
        tap_is_int(csibiz_date_valid(d), cases[i].valid,
                   "date %04d-%02d-%02d valid is %d",
                   d->year, d->month, d->day, cases[i].valid);
    }

    {
        csibiz_date_t  a = { 2024, 2, 29 }, b = { 2024, 3, 1 };
        csibiz_date_t  c = { 2023, 12, 31 };

        tap_ok(csibiz_date_compare(&a, &b) < 0, "compare: day before");
        tap_ok(csibiz_date_compare(&b, &a) > 0, "compare: day after");
        tap_ok(csibiz_date_compare(&a, &a) == 0, "compare: same day");
        tap_ok(csibiz_date_compare(&c, &a) < 0, "compare: year first");
    }
}


static void
test_date_from_unix(void)
{
    static const struct {
        long long      seconds;
        long           offset;
        csibiz_date_t  date;
        const char    *what;
    } cases[] = {
        { 0, 0, { 1970, 1, 1 }, "the epoch" },
        { -1, 0, { 1969, 12, 31 }, "one second before the epoch" },
        { 951782400LL, 0, { 2000, 2, 29 }, "2000-02-29 UTC" },
        { 1709251200LL, 0, { 2024, 3, 1 }, "2024-03-01 00:00 UTC" },
        { 1709251199LL, 0, { 2024, 2, 29 }, "2024-02-29 23:59:59 UTC" },
        { 1709222399LL, 8 * 3600, { 2024, 2, 29 },
          "2024-02-29 23:59:59 in China" },
        { 1709222400LL, 8 * 3600, { 2024, 3, 1 },
          "2024-03-01 00:00 in China, 16:00 UTC the day before" },
        { 1709222400LL, 0, { 2024, 2, 29 },
          "the same instant in UTC" },
        { -2208988800LL, 0, { 1900, 1, 1 }, "1900-01-01" },
        { -62135596800LL, 0, { 1, 1, 1 }, "0001-01-01" },
        { 253402300799LL, 0, { 9999, 12, 31 }, "9999-12-31 23:59:59" },
    };

    int            rc;
    size_t         i;
    csibiz_date_t  d;

    for (i = 0; i < N(cases); i++) {
        memset(&d, 0, sizeof(d));
        rc = csibiz_date_from_unix(cases[i].seconds, cases[i].offset, &d);
        tap_ok(rc == 0 && csibiz_date_compare(&d, &cases[i].date) == 0,
               "from_unix: %s (got %04d-%02d-%02d)", cases[i].what,
               d.year, d.month, d.day);
    }

    tap_is_int(csibiz_date_from_unix(253402300800LL, 0, &d), -1,
               "from_unix: year 10000 refused");
    tap_is_int(csibiz_date_from_unix(-62135596801LL, 0, &d), -1,
               "from_unix: year 0 refused");
    tap_is_int(csibiz_date_from_unix(0x7fffffffffffffffLL, 0, &d), -1,
               "from_unix: LLONG_MAX refused, no overflow");
    tap_is_int(csibiz_date_from_unix(-0x7fffffffffffffffLL - 1, 0, &d), -1,
               "from_unix: LLONG_MIN refused, no overflow");
    tap_is_int(csibiz_date_from_unix(0, 100000, &d), -1,
               "from_unix: an offset over a day refused");
}


static void
test_age(void)
{
    csibiz_date_t  birth = { 2010, 6, 15 }, leap = { 2008, 2, 29 };
    csibiz_date_t  d;

    d = (csibiz_date_t) { 2024, 6, 14 };
    tap_is_int(csibiz_age_on(&birth, &d), 13, "age: day before birthday");
    d = (csibiz_date_t) { 2024, 6, 15 };
    tap_is_int(csibiz_age_on(&birth, &d), 14, "age: on the birthday");
    d = (csibiz_date_t) { 2010, 6, 15 };
    tap_is_int(csibiz_age_on(&birth, &d), 0, "age: born today");
    d = (csibiz_date_t) { 2010, 6, 14 };
    tap_is_int(csibiz_age_on(&birth, &d), -1, "age: not born yet");
    d = (csibiz_date_t) { 2023, 2, 28 };
    tap_is_int(csibiz_age_on(&leap, &d), 14,
               "age: 29 February birthday not reached on 28 February");
    d = (csibiz_date_t) { 2023, 3, 1 };
    tap_is_int(csibiz_age_on(&leap, &d), 15,
               "age: 29 February birthday reached on 1 March");
    d = (csibiz_date_t) { 2024, 2, 29 };
    tap_is_int(csibiz_age_on(&leap, &d), 16, "age: 29 February, leap year");
}


static void
test_id_valid(void)
{
    static const struct {
        const char     *id;
        csibiz_date_t   birth;
        int             gender;
        const char     *what;
    } cases[] = {
        { "11010519491231002X", { 1949, 12, 31 }, CSIBIZ_GENDER_FEMALE,
          "GB 11643 example, check X" },
        { "11010519491231002x", { 1949, 12, 31 }, CSIBIZ_GENDER_FEMALE,
          "lower-case x accepted" },
        { "110105200002290013", { 2000, 2, 29 }, CSIBIZ_GENDER_MALE,
          "born 2000-02-29 (leap: divisible by 400)" },
        { "440304202402291234", { 2024, 2, 29 }, CSIBIZ_GENDER_MALE,
          "born 2024-02-29" },
        { "11010519000101001X", { 1900, 1, 1 }, CSIBIZ_GENDER_MALE,
          "born 1900-01-01, the earliest" },
        { "650101199912310073", { 1999, 12, 31 }, CSIBIZ_GENDER_MALE,
          "Xinjiang (65)" },
        { "710000198001010037", { 1980, 1, 1 }, CSIBIZ_GENDER_MALE,
          "Taiwan (71)" },
        { "810000199001010027", { 1990, 1, 1 }, CSIBIZ_GENDER_FEMALE,
          "Hong Kong residence permit (81)" },
        { "830000201006150049", { 2010, 6, 15 }, CSIBIZ_GENDER_FEMALE,
          "Taiwan residents' residence permit (83)" },
        { "110105201001010037", { 2010, 1, 1 }, CSIBIZ_GENDER_MALE,
          "a schoolchild" },

        /* between them, a non-zero digit at every position */
        { "320683198707153719", { 1987, 7, 15 }, CSIBIZ_GENDER_MALE,
          "Jiangsu (32)" },
        { "513229201509238642", { 2015, 9, 23 }, CSIBIZ_GENDER_FEMALE,
          "Sichuan (51)" },
        { "429006201801179991", { 2018, 1, 17 }, CSIBIZ_GENDER_MALE,
          "Hubei (42)" },
        { "371522199603284569", { 1996, 3, 28 }, CSIBIZ_GENDER_FEMALE,
          "Shandong (37)" },
        { "530127198812067856", { 1988, 12, 6 }, CSIBIZ_GENDER_MALE,
          "Yunnan (53)" },
    };

    size_t          i;
    csibiz_date_t   birth;
    csibiz_id_rc_t  rc;

    for (i = 0; i < N(cases); i++) {
        memset(&birth, 0, sizeof(birth));
        rc = csibiz_id_number_check(cases[i].id, strlen(cases[i].id),
                                    &birth, &today);
        tap_ok(rc == CSIBIZ_ID_OK, "ID %s ok: %s (%s)", cases[i].id,
               cases[i].what, csibiz_id_rc_name(rc));
        tap_ok(csibiz_date_compare(&birth, &cases[i].birth) == 0,
               "ID %s birth date", cases[i].id);
        tap_is_int(csibiz_id_number_gender(cases[i].id, strlen(cases[i].id)),
                   cases[i].gender, "ID %s gender", cases[i].id);
    }

    /* born today is fine, and birth may be NULL */
    {
        csibiz_date_t  day = { 2024, 2, 29 };

        tap_is_int(csibiz_id_number_check(S("440304202402291234"), NULL,
                                          &day),
                   CSIBIZ_ID_OK, "ID born on today's date is ok");
    }
}


static void
test_id_refused(void)
{
    static const struct {
        const char      *id;
        size_t           len;
        csibiz_id_rc_t   rc;
        const char      *what;
    } cases[] = {
        { S(""), CSIBIZ_ID_LENGTH, "empty" },
        { S("110105491231002"), CSIBIZ_ID_LENGTH, "15-digit (old) ID" },
        { S("11010519491231002"), CSIBIZ_ID_LENGTH, "17 characters" },
        { S("11010519491231002X0"), CSIBIZ_ID_LENGTH, "19 characters" },
        { S(" 11010519491231002X"), CSIBIZ_ID_LENGTH,
          "leading space (no trimming here)" },
        { S("11010519491231002Y"), CSIBIZ_ID_CHARSET, "check char Y" },
        { S("1101051949123100XX"), CSIBIZ_ID_CHARSET, "X not last" },
        { S("X10105194912310020"), CSIBIZ_ID_CHARSET, "X first" },
        { S("11010519491231 02X"), CSIBIZ_ID_CHARSET, "inner space" },
        { S("11010519491231002\0"), CSIBIZ_ID_CHARSET, "NUL as check" },
        { S("11010519491231002\xef\xbc\xb8"), CSIBIZ_ID_LENGTH,
          "full-width X: 20 bytes" },
        { S("1101051949123\xef\xbc\x90" "02"), CSIBIZ_ID_CHARSET,
          "full-width digit in 18 bytes" },
        { S("00010519491231002X"), CSIBIZ_ID_PROVINCE, "province 00" },
        { S("10010519491231002X"), CSIBIZ_ID_PROVINCE, "province 10" },
        { S("16010519491231002X"), CSIBIZ_ID_PROVINCE, "province 16" },
        { S("24010519491231002X"), CSIBIZ_ID_PROVINCE, "province 24" },
        { S("38010519491231002X"), CSIBIZ_ID_PROVINCE, "province 38" },
        { S("47010519491231002X"), CSIBIZ_ID_PROVINCE, "province 47" },
        { S("55010519491231002X"), CSIBIZ_ID_PROVINCE, "province 55" },
        { S("66010519491231002X"), CSIBIZ_ID_PROVINCE, "province 66" },
        { S("72010519491231002X"), CSIBIZ_ID_PROVINCE, "province 72" },
        { S("84010519491231002X"), CSIBIZ_ID_PROVINCE, "province 84" },
        { S("91010519491231002X"), CSIBIZ_ID_PROVINCE,
          "foreigner's permanent residence card (9x)" },
        { S("110105190002290017"), CSIBIZ_ID_BIRTH_DATE,
          "1900-02-29 (1900 is not leap), checksum right" },
        { S("110105202302290014"), CSIBIZ_ID_BIRTH_DATE,
          "2023-02-29, checksum right" },
        { S("110105209912310010"), CSIBIZ_ID_BIRTH_DATE,
          "2099-12-31: future, checksum right" },
        { S("110105189912310015"), CSIBIZ_ID_BIRTH_DATE,
          "1899-12-31: before 1900, checksum right" },
        { S("440304202403021234"), CSIBIZ_ID_BIRTH_DATE,
          "tomorrow" },
        { S("11010519491331002X"), CSIBIZ_ID_BIRTH_DATE, "month 13" },
        { S("11010519490031002X"), CSIBIZ_ID_BIRTH_DATE, "month 00" },
        { S("11010519490400002X"), CSIBIZ_ID_BIRTH_DATE, "day 00" },
        { S("11010519490431002X"), CSIBIZ_ID_BIRTH_DATE, "April 31" },
        { S("110105194912310020"), CSIBIZ_ID_CHECKSUM, "check 0, not X" },
        { S("110105194912310021"), CSIBIZ_ID_CHECKSUM, "check 1, not X" },
        { S("11010519491231003X"), CSIBIZ_ID_CHECKSUM,
          "sequence digit changed" },
        { S("11010519491213002X"), CSIBIZ_ID_CHECKSUM,
          "day digits swapped (still a date)" },
        { S("110105200002290012"), CSIBIZ_ID_CHECKSUM, "last digit off" },
    };

    size_t          i;
    csibiz_date_t   birth, untouched = { 7, 7, 7 };
    csibiz_id_rc_t  rc;

    for (i = 0; i < N(cases); i++) {
        birth = untouched;
        rc = csibiz_id_number_check(cases[i].id, cases[i].len, &birth,
                                    &today);
        tap_ok(rc == cases[i].rc
               && csibiz_date_compare(&birth, &untouched) == 0,
               "ID refused as %s: %s (got %s)",
               csibiz_id_rc_name(cases[i].rc), cases[i].what,
               csibiz_id_rc_name(rc));
    }
}


/*
 * MOD 11-2 catches every single-character error and every transposition
 * of adjacent characters: whatever the mistake, the number is refused.
 */

static void
test_id_typos(void)
{
    static const char  *ids[] = {
        "11010519491231002X", "320683198707153719", "513229201509238642",
        "429006201801179991", "371522199603284569", "530127198812067856"
    };

    char    id[CSIBIZ_ID_NUMBER_LEN], c;
    size_t  i, pos, accepted, tried;

    accepted = 0;
    tried = 0;

    for (i = 0; i < N(ids); i++) {
        for (pos = 0; pos < CSIBIZ_ID_NUMBER_LEN; pos++) {
            for (c = '0'; c <= '9' + 1; c++) {
                memcpy(id, ids[i], sizeof(id));
                id[pos] = (c > '9') ? 'X' : c;

                if (id[pos] == ids[i][pos]) {
                    continue;
                }

                tried++;

                if (csibiz_id_number_check(id, sizeof(id), NULL, &today)
                    == CSIBIZ_ID_OK)
                {
                    accepted++;
                    tap_diag("accepted typo %.18s", id);
                }
            }
        }
    }

    tap_ok(tried > 1000 && accepted == 0,
           "ID: none of %zu single-character typos accepted", tried);

    accepted = 0;
    tried = 0;

    for (i = 0; i < N(ids); i++) {
        for (pos = 0; pos + 1 < CSIBIZ_ID_NUMBER_LEN; pos++) {
            memcpy(id, ids[i], sizeof(id));

            if (id[pos] == id[pos + 1]) {
                continue;
            }

            c = id[pos];
            id[pos] = id[pos + 1];
            id[pos + 1] = c;
            tried++;

            if (csibiz_id_number_check(id, sizeof(id), NULL, &today)
                == CSIBIZ_ID_OK)
            {
                accepted++;
                tap_diag("accepted transposition %.18s", id);
            }
        }
    }

    tap_ok(tried > 50 && accepted == 0,
           "ID: none of %zu adjacent transpositions accepted", tried);
}


static void
test_id_helpers(void)
{
    char  out[CSIBIZ_ID_NUMBER_SIZE];

    tap_ok(csibiz_id_number_normalize(S("11010519491231002x"), out) == 0
           && strcmp(out, "11010519491231002X") == 0,
           "normalize: x made X");
    tap_ok(csibiz_id_number_normalize(S("110105200002290013"), out) == 0
           && strcmp(out, "110105200002290013") == 0,
           "normalize: digits copied");
    tap_is_int(csibiz_id_number_normalize(S("110105491231002"), out), -1,
               "normalize: 15 characters refused");

    tap_is_int(csibiz_id_number_gender(S("110105491231002")), -1,
               "gender: wrong length");
    tap_is_int(csibiz_id_number_gender(S("1101051949123100XX")), -1,
               "gender: 17th character not a digit");

    tap_is_str(csibiz_id_rc_name(CSIBIZ_ID_OK), 2, "ok", "rc name ok");
    tap_is_str(csibiz_id_rc_name(CSIBIZ_ID_BIRTH_DATE), 10, "birth_date",
               "rc name birth_date");
    tap_is_str(csibiz_id_rc_name(CSIBIZ_ID_CHECKSUM), 8, "checksum",
               "rc name checksum");
}


static void
test_phone(void)
{
    static const struct {
        const char  *in;
        size_t       len;
        const char  *out;           /* NULL: refused */
    } cases[] = {
        { S("13812345678"), "13812345678" },
        { S("19912345678"), "19912345678" },
        { S("+8613812345678"), "13812345678" },
        { S("008613812345678"), "13812345678" },
        { S("  13812345678  "), "13812345678" },
        { S("\t+8613812345678\r\n"), "13812345678" },
        { S("\xe3\x80\x80" "13812345678" "\xe3\x80\x80"), "13812345678" },
        { S(" 0086 13812345678"), NULL },
        { S("+86 13812345678"), NULL },
        { S("8613812345678"), NULL },
        { S("+86"), NULL },
        { S("0086"), NULL },
        { S("+8612812345678"), NULL },
        { S("138 1234 5678"), NULL },
        { S("138-1234-5678"), NULL },
        { S("12812345678"), NULL },
        { S("10012345678"), NULL },
        { S("23812345678"), NULL },
        { S("1381234567"), NULL },
        { S("138123456789"), NULL },
        { S("1381234567a"), NULL },
        { S("+1 4155550100"), NULL },
        { S("+008613812345678"), NULL },
        { S("13812345678\0"), NULL },
        { S(""), NULL },
        { S("   "), NULL },
    };

    int     rc;
    char    out[CSIBIZ_PHONE_SIZE];
    size_t  i;

    for (i = 0; i < N(cases); i++) {
        memset(out, 0, sizeof(out));
        rc = csibiz_phone_normalize(cases[i].in, cases[i].len, out);

        if (cases[i].out == NULL) {
            tap_is_int(rc, -1, "phone refused: \"%.*s\"",
                       (int) cases[i].len, cases[i].in);

        } else {
            tap_ok(rc == 0 && strcmp(out, cases[i].out) == 0,
                   "phone ok: \"%.*s\" -> %s", (int) cases[i].len,
                   cases[i].in, out);
        }
    }

    tap_is_int(csibiz_phone_valid(S("13912345678")), 1, "phone_valid yes");
    tap_is_int(csibiz_phone_valid(S(" 13912345678")), 0,
               "phone_valid does not trim");
    tap_is_int(csibiz_phone_valid(S("+8613912345678")), 0,
               "phone_valid takes no prefix");
}


static void
test_social_card(void)
{
    char  out[CSIBIZ_SOCIAL_CARD_SIZE];

    tap_ok(csibiz_social_card_normalize(S("A1B2C3D4E5F6"), out) == 0
           && strcmp(out, "A1B2C3D4E5F6") == 0, "social card upper case");
    tap_ok(csibiz_social_card_normalize(S(" a1b2c3d4e5f6\n"), out) == 0
           && strcmp(out, "A1B2C3D4E5F6") == 0,
           "social card trimmed and upper-cased");
    tap_ok(csibiz_social_card_normalize(S("123456789012"), out) == 0
           && strcmp(out, "123456789012") == 0, "social card digits only");
    tap_is_int(csibiz_social_card_normalize(S("A1B2C3D4E5F"), out), -1,
               "social card 11 characters refused");
    tap_is_int(csibiz_social_card_normalize(S("A1B2C3D4E5F6G"), out), -1,
               "social card 13 characters refused");
    tap_is_int(csibiz_social_card_normalize(S("A1B2C3-4E5F6"), out), -1,
               "social card hyphen refused");
    tap_is_int(csibiz_social_card_normalize(S("A1B2C3 4E5F6"), out), -1,
               "social card inner space refused");
    tap_is_int(csibiz_social_card_normalize(S("A1B2C3\xc3\xa9" "E5F6"),
                                            out), -1,
               "social card non-ASCII letter refused");

    tap_is_int(csibiz_social_card_valid(S("A1B2C3D4E5F6")), 1,
               "social_card_valid upper case");
    tap_is_int(csibiz_social_card_valid(S("a1b2c3d4e5f6")), 0,
               "social_card_valid refuses lower case");
    tap_is_int(csibiz_social_card_valid(S("A1B2C3D4E5F")), 0,
               "social_card_valid refuses 11 characters");
}


static void
test_date_in_china(void)
{
    size_t         i;
    csibiz_date_t  d;

    static const struct {
        const char    *s;
        int            rc;
        csibiz_date_t  day;
    } cases[] = {
        { "2026-09-10 12:00:00+08", 0, { 2026, 9, 10 } },
        { "2026-09-10 12:00+08", 0, { 2026, 9, 10 } },
        { "2026-09-10 23:59:59", 0, { 2026, 9, 10 } },    /* China's */
        { "2026-09-10 16:00:00+00", 0, { 2026, 9, 11 } },
        { "2026-09-10 15:59:59.999+00", 0, { 2026, 9, 10 } },
        { "2026-12-31 23:30:00 +00:00", 0, { 2027, 1, 1 } },
        { "2026-03-01 02:00:00-05", 0, { 2026, 3, 1 } },
        { "2024-03-01 07:59:00+0800", 0, { 2024, 3, 1 } },
        { "2024-03-01 07:59:00+1600", -1, { 0, 0, 0 } },  /* > 15 h */
        { "2024-02-29 23:00:00+08:30", 0, { 2024, 2, 29 } },
        { "2024-03-01 00:10:00+09", 0, { 2024, 2, 29 } }, /* leap day */
        { "1970-01-01 08:00:00+08", 0, { 1970, 1, 1 } },
        { "2026-02-29 12:00:00+08", -1, { 0, 0, 0 } },
        { "2026-09-10 24:00:00+08", -1, { 0, 0, 0 } },
        { "2026-09-10 12:00:00+8", -1, { 0, 0, 0 } },
        { "2026-09-10 12:00:00+08x", -1, { 0, 0, 0 } },
        { "2026-09-10T12:00:00+08", -1, { 0, 0, 0 } },
        { "2026-09-10", -1, { 0, 0, 0 } },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&d, 0, sizeof(d));

        tap_ok(csibiz_date_in_china(cases[i].s, strlen(cases[i].s), &d)
               == cases[i].rc
               && (cases[i].rc != 0
                   || csibiz_date_compare(&d, &cases[i].day) == 0),
               "date_in_china \"%s\"", cases[i].s);
    }
}


static void
test_handbook_no(void)
{
    char  out[CSIBIZ_INSURANCE_NO_SIZE];

    tap_ok(csibiz_handbook_no_normalize(S("11000012345678"), out) == 0
           && strcmp(out, "11000012345678") == 0, "handbook no digits");
    tap_ok(csibiz_handbook_no_normalize(S(" sc0012345\xe3\x80\x80"), out)
           == 0 && strcmp(out, "SC0012345") == 0,
           "handbook no trimmed (ideographic space) and upper-cased");
    tap_ok(csibiz_handbook_no_normalize(S("12345678"), out) == 0
           && strcmp(out, "12345678") == 0, "handbook no 8 characters");
    tap_ok(csibiz_handbook_no_normalize(S("12345678901234567890"), out) == 0
           && strlen(out) == CSIBIZ_HANDBOOK_NO_MAX_LEN,
           "handbook no 20 characters");
    tap_is_int(csibiz_handbook_no_normalize(S("1234567"), out), -1,
               "handbook no 7 characters refused");
    tap_is_int(csibiz_handbook_no_normalize(S("123456789012345678901"),
                                            out), -1,
               "handbook no 21 characters refused");
    tap_is_int(csibiz_handbook_no_normalize(S("1100-0012345"), out), -1,
               "handbook no hyphen refused");
    tap_is_int(csibiz_handbook_no_normalize(S(""), out), -1,
               "handbook no empty refused");

    tap_ok(csibiz_insurance_no_normalize(S("a1b2c3d4e5f6"), out) == 0
           && strcmp(out, "A1B2C3D4E5F6") == 0,
           "insurance no: a card number");
    tap_ok(csibiz_insurance_no_normalize(S("110000123456789"), out) == 0
           && strcmp(out, "110000123456789") == 0,
           "insurance no: a handbook number");
    tap_is_int(csibiz_insurance_no_normalize(S("A1B2C3"), out), -1,
               "insurance no: 6 characters are neither");
    tap_is_int(csibiz_insurance_no_normalize(S("A1B2C3 D4E5F6"), out), -1,
               "insurance no: an inner space is neither");
    tap_is_int(csibiz_insurance_no_normalize(S("１２３４５６７８９０１２"), out),
               -1, "insurance no: full-width digits are neither");
}


static void
test_postcode(void)
{
    tap_is_int(csibiz_postcode_valid(S("100000")), 1, "postcode 100000");
    tap_is_int(csibiz_postcode_valid(S("518000")), 1, "postcode 518000");
    tap_is_int(csibiz_postcode_valid(S("10000")), 0, "postcode 5 digits");
    tap_is_int(csibiz_postcode_valid(S("1000000")), 0, "postcode 7 digits");
    tap_is_int(csibiz_postcode_valid(S("10000a")), 0, "postcode letter");
    tap_is_int(csibiz_postcode_valid(S("100 00")), 0, "postcode space");
    tap_is_int(csibiz_postcode_valid(S("")), 0, "postcode empty");
}


static void
test_luhn_and_bank_card(void)
{
    char  out[CSIBIZ_BANK_CARD_SIZE];

    tap_is_int(csibiz_luhn_valid(S("4111111111111111")), 1,
               "luhn 4111111111111111");
    tap_is_int(csibiz_luhn_valid(S("4111111111111112")), 0,
               "luhn 4111111111111112 refused");
    tap_is_int(csibiz_luhn_valid(S("6222021234567890128")), 1,
               "luhn 6222021234567890128 (19 digits)");
    tap_is_int(csibiz_luhn_valid(S("6222021234567890123")), 0,
               "luhn 6222021234567890123 refused");
    tap_is_int(csibiz_luhn_valid(S("79927398713")), 1,
               "luhn 79927398713 (the textbook example)");
    tap_is_int(csibiz_luhn_valid(S("79927398710")), 0,
               "luhn 79927398710 refused");
    tap_is_int(csibiz_luhn_valid(S("0")), 1, "luhn 0");
    tap_is_int(csibiz_luhn_valid(S("")), 0, "luhn empty refused");
    tap_is_int(csibiz_luhn_valid(S("4111 1111 1111 1111")), 0,
               "luhn with spaces refused");

    tap_is_int(csibiz_bank_card_valid(S("6228480012345671")), 1,
               "bank card 16 digits");
    tap_is_int(csibiz_bank_card_valid(S("62220212345678903")), 1,
               "bank card 17 digits");
    tap_is_int(csibiz_bank_card_valid(S("622202123456789012")), 1,
               "bank card 18 digits");
    tap_is_int(csibiz_bank_card_valid(S("6222021234567890128")), 1,
               "bank card 19 digits");
    tap_is_int(csibiz_bank_card_valid(S("79927398713")), 0,
               "bank card: Luhn-valid but 11 digits");
    tap_is_int(csibiz_bank_card_valid(S("62220212345678901280")), 0,
               "bank card 20 digits");
    tap_is_int(csibiz_bank_card_valid(S("6228480012345672")), 0,
               "bank card with a wrong check digit");

    tap_ok(csibiz_bank_card_normalize(S("6222 0212 3456 7890 128"), out) == 0
           && strcmp(out, "6222021234567890128") == 0,
           "bank card normalize: spaces between groups");
    tap_ok(csibiz_bank_card_normalize(S("6228-4800-1234-5671"), out) == 0
           && strcmp(out, "6228480012345671") == 0,
           "bank card normalize: hyphens between groups");
    tap_ok(csibiz_bank_card_normalize(S("\xe3\x80\x80" "6228480012345671 "),
                                      out) == 0
           && strcmp(out, "6228480012345671") == 0,
           "bank card normalize: trimmed");
    tap_is_int(csibiz_bank_card_normalize(S("6228  480012345671"), out), -1,
               "bank card normalize: two spaces refused");
    tap_is_int(csibiz_bank_card_normalize(S("-6228480012345671"), out), -1,
               "bank card normalize: leading hyphen refused");
    tap_is_int(csibiz_bank_card_normalize(S("6228480012345671-"), out), -1,
               "bank card normalize: trailing hyphen refused");
    tap_is_int(csibiz_bank_card_normalize(S("6228480012345672"), out), -1,
               "bank card normalize: Luhn checked");
    tap_is_int(csibiz_bank_card_normalize(S("62220212345678901280000"), out),
               -1, "bank card normalize: too many digits, no overflow");
    tap_is_int(csibiz_bank_card_normalize(S("6228 4800 1234 567x"), out), -1,
               "bank card normalize: letter refused");
}


static void
test_mask(void)
{
    static const struct {
        const char  *in;
        size_t       len;
        size_t       head;
        size_t       tail;
        const char  *out;
        const char  *what;
    } cases[] = {
        { S("\xe5\xbc\xa0\xe4\xb8\x89\xe4\xb8\xb0"), 1, 1,
          "\xe5\xbc\xa0*\xe4\xb8\xb0", "zhang san feng -> zhang * feng" },
        { S("\xe5\xbc\xa0\xe4\xb8\x89"), 1, 1, "\xe5\xbc\xa0*",
          "zhang san -> zhang *: the tail gives way" },
        { S("\xe5\xbc\xa0"), 1, 1, "*", "one character: all masked" },
        { S("\xe6\xac\xa7\xe9\x98\xb3\xe5\xa8\x9c\xe5\xa8\x9c"), 1, 1,
          "\xe6\xac\xa7**\xe5\xa8\x9c", "four characters -> ou ** na" },
        { S(""), 1, 1, "", "empty stays empty" },
        { S("abcdef"), 0, 0, "******", "keep nothing" },
        { S("abcdef"), 2, 0, "ab****", "head only" },
        { S("abcdef"), 0, 2, "****ef", "tail only" },
        { S("abcdef"), 3, 3, "abc*ef", "head+tail = length: tail shrinks" },
        { S("abcdef"), 9, 9, "abcde*", "both too long: head shrinks too" },
        { S("Zh\xc3\xa9ng"), 1, 1, "Z***g", "2-byte character masked" },
        { S("a\xf0\x9f\x98\x80" "b"), 1, 1, "a*b", "4-byte masked as one" },
    };

    char    out[64];
    size_t  i;

    for (i = 0; i < N(cases); i++) {
        memset(out, 'Q', sizeof(out));
        tap_ok(csibiz_mask(cases[i].in, cases[i].len, cases[i].head,
                           cases[i].tail, out, sizeof(out)) == 0
               && strcmp(out, cases[i].out) == 0,
               "mask: %s", cases[i].what);
    }

    tap_ok(csibiz_mask_id_number(S("11010519491231002X"), out, sizeof(out))
           == 0 && strcmp(out, "110***********002X") == 0,
           "mask ID number: 3 + 11 * + 4");
    tap_ok(csibiz_mask_phone(S("13812345678"), out, sizeof(out)) == 0
           && strcmp(out, "138****5678") == 0, "mask phone: 138****5678");
    tap_ok(csibiz_mask_name(S("\xe6\x9d\x8e\xe5\x9b\x9b"), out, sizeof(out))
           == 0 && strcmp(out, "\xe6\x9d\x8e*") == 0,
           "mask name: li si -> li *");

    /* exact sizes: len + 1 always suffices, masked length + 1 is enough */
    tap_is_int(csibiz_mask_id_number(S("11010519491231002X"), out,
                                     CSIBIZ_ID_NUMBER_SIZE), 0,
               "mask ID number fits CSIBIZ_ID_NUMBER_SIZE");
    tap_is_int(csibiz_mask_phone(S("13812345678"), out, CSIBIZ_PHONE_SIZE),
               0, "mask phone fits CSIBIZ_PHONE_SIZE");
    tap_is_int(csibiz_mask(S("\xe5\xbc\xa0\xe4\xb8\x89\xe4\xb8\xb0"), 1, 1,
                           out, 8), 0,
               "mask name fits masked length + 1 (8)");
    tap_is_int(csibiz_mask(S("\xe5\xbc\xa0\xe4\xb8\x89\xe4\xb8\xb0"), 1, 1,
                           out, 7), -1, "mask refuses 7 bytes for 8");
    tap_is_int(csibiz_mask(S(""), 0, 0, out, 0), -1,
               "mask refuses a 0-byte buffer");
    tap_is_int(csibiz_mask(S("ab\xff"), 1, 1, out, sizeof(out)), -1,
               "mask refuses invalid UTF-8");
    tap_is_int(csibiz_mask(S("a\0b"), 1, 1, out, sizeof(out)), -1,
               "mask refuses NUL");
}
