
/*
 * Unit tests of lib/csibiz_password.c: each rule of the policy at and
 * around its edges, the order of the reasons, and the bundled list.
 *
 * The source file is included rather than linked so that the test can
 * walk the static list of common passwords: the archive's copy is then
 * not pulled in, as nothing refers to it.
 */


#include <stdlib.h>
#include <string.h>

#include "csibiz_password.c"
#include "tap.h"


/* a password, the answer expected for it and what the case is about */
typedef struct {
    const char      *pw;
    size_t           len;
    csibiz_pw_rc_t   rc;
    const char      *what;
} pw_case_t;


static void test_lengths(void);
static void test_utf8(void);
static void test_common(void);
static void test_list(void);
static void test_repetitive(void);
static void test_derived(void);
static void test_ok(void);
static void test_names(void);
static void is_rc(const char *pw, size_t len, const csibiz_pw_context_t *ctx,
    csibiz_pw_rc_t expected, const char *what);
static void is_rc_all(const pw_case_t *cases, size_t n,
    const csibiz_pw_context_t *c);


/* a child born 2010-03-15, the parent's phone 139 0617 2845 */
static const csibiz_pw_context_t  ctx = {
    S("11010520100315002X"), S("+86 139-0617-2845"), NULL
};


int
main(void)
{
    test_lengths();
    test_utf8();
    test_common();
    test_list();
    test_repetitive();
    test_derived();
    test_ok();
    test_names();

    return tap_done();
}


static void
is_rc(const char *pw, size_t len, const csibiz_pw_context_t *c,
    csibiz_pw_rc_t expected, const char *what)
{
    csibiz_pw_rc_t  rc;

    rc = csibiz_password_check(pw, len, c);

    if (!tap_ok(rc == expected, "%s: %s", csibiz_password_rc_name(expected),
                what))
    {
        tap_diag("got %s for \"%.*s\"", csibiz_password_rc_name(rc),
                 (int) len, pw);
    }
}


static void
is_rc_all(const pw_case_t *cases, size_t n, const csibiz_pw_context_t *c)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        is_rc(cases[i].pw, cases[i].len, c, cases[i].rc, cases[i].what);
    }
}


static void
test_lengths(void)
{
    char    buf[CSIBIZ_PASSWORD_MAX_BYTES + 2];
    size_t  i;

    is_rc(S(""), &ctx, CSIBIZ_PW_TOO_SHORT, "empty");
    is_rc(S("Kite-moon-7x"), &ctx, CSIBIZ_PW_OK, "12 characters");
    is_rc(S("Kite-moon-7"), &ctx, CSIBIZ_PW_TOO_SHORT, "11 characters");
    /* code points count, not bytes */
    is_rc(S("我家孩子今年上小学了"), &ctx, CSIBIZ_PW_TOO_SHORT,
          "10 CJK characters (30 bytes)");
    is_rc(S("我家孩子今年上小学了啊哈"), &ctx, CSIBIZ_PW_OK,
          "12 CJK characters");

    /* 128 and 129 characters cycling through 26 letters and 10 digits */
    for (i = 0; i < 129; i++) {
        buf[i] = "qazwsxedcrfvtgbyhnujmikolp0192837465"[i % 36];
    }

    is_rc(buf, 128, &ctx, CSIBIZ_PW_OK, "128 characters");
    is_rc(buf, 129, &ctx, CSIBIZ_PW_TOO_LONG, "129 characters");

    memset(buf, 'a', sizeof(buf));
    is_rc(buf, CSIBIZ_PASSWORD_MAX_BYTES + 1, &ctx, CSIBIZ_PW_TOO_LONG,
          "513 bytes, not even decoded");

    /* 128 four-byte characters are the longest allowed */
    for (i = 0; i < 128; i++) {
        memcpy(buf + 4 * i, "\xf0\x9f\x98\x80", 4);
        buf[4 * i + 3] = (char) (0x80 + i % 64);
    }

    is_rc(buf, 512, &ctx, CSIBIZ_PW_OK, "128 four-byte characters");
}


static void
test_utf8(void)
{
    static const pw_case_t  cases[] = {
        { S("correct horse\xff battery"), CSIBIZ_PW_BAD_UTF8, "0xff" },
        { S("correct horse\xc0\xaf battery"), CSIBIZ_PW_BAD_UTF8,
          "overlong '/'" },
        { S("correct horse\xed\xa0\x80 battery"), CSIBIZ_PW_BAD_UTF8,
          "surrogate" },
        { S("correct horse\0 battery"), CSIBIZ_PW_BAD_UTF8, "NUL" },
        { S("correct horse battery\xe5\xbc"), CSIBIZ_PW_BAD_UTF8,
          "truncated at the end" },
        { S("short\xff"), CSIBIZ_PW_BAD_UTF8,
          "bad UTF-8 comes before the length" },
    };

    is_rc_all(cases, N(cases), &ctx);
}


static void
test_common(void)
{
    static const pw_case_t  cases[] = {
        { S("123456789012"), CSIBIZ_PW_COMMON, "123456789012" },
        { S("Password1234"), CSIBIZ_PW_COMMON, "case ignored" },
        { S("PASSWORD1234"), CSIBIZ_PW_COMMON, "upper case" },
        { S("P@ssw0rd1234"), CSIBIZ_PW_COMMON, "p@ssw0rd1234" },
        { S("1q2w3e4r5t6y"), CSIBIZ_PW_COMMON, "1q2w3e4r5t6y" },
        { S("woaini1314520"), CSIBIZ_PW_COMMON, "woaini1314520" },
        { S("qwerty 123456"), CSIBIZ_PW_COMMON,
          "with a space: the core is on the list" },
        { S("password-1234!"), CSIBIZ_PW_COMMON,
          "with punctuation: the core is on the list" },
        { S("\xef\xbd\x91\xef\xbd\x97\xef\xbd\x85\xef\xbd\x92\xef\xbd\x94"
            "\xef\xbd\x99\xef\xbc\x91\xef\xbc\x92\xef\xbc\x93\xef\xbc\x94"
            "\xef\xbc\x95\xef\xbc\x96"),
          CSIBIZ_PW_COMMON, "full-width qwerty123456" },
        { S("!qaz@wsx#edc"), CSIBIZ_PW_COMMON,
          "punctuation that is part of the entry" },
        { S("qwerty1234567x"), CSIBIZ_PW_OK,
          "an entry and more is not on the list" },
    };

    is_rc_all(cases, N(cases), &ctx);
}


/* every entry is found, so the list is sorted, lower case and long enough */

static void
test_list(void)
{
    size_t  i, len, bad;

    tap_ok(CSIBIZ_PW_COMMON_COUNT >= 200, "%zu common passwords",
           (size_t) CSIBIZ_PW_COMMON_COUNT);

    bad = 0;

    for (i = 0; i < CSIBIZ_PW_COMMON_COUNT; i++) {
        len = strlen(csibiz_pw_common_list[i]);

        if (csibiz_password_check(csibiz_pw_common_list[i], len, NULL)
            != CSIBIZ_PW_COMMON)
        {
            tap_diag("not found: \"%s\"", csibiz_pw_common_list[i]);
            bad++;
        }

        if (i > 0 && strcmp(csibiz_pw_common_list[i - 1],
                            csibiz_pw_common_list[i]) >= 0)
        {
            tap_diag("out of order: \"%s\"", csibiz_pw_common_list[i]);
            bad++;
        }
    }

    tap_is_int(bad, 0, "each entry sorted, unique and found");
}


static void
test_repetitive(void)
{
    static const pw_case_t  cases[] = {
        { S("xyzxyzxyzxyz"), CSIBIZ_PW_REPETITIVE, "unit of 3" },
        { S("xyzxyzxyzxyzx"), CSIBIZ_PW_REPETITIVE, "last copy cut short" },
        { S("xyz-xyz-xyz-xyz"), CSIBIZ_PW_REPETITIVE, "unit with a separator" },
        { S("Horse7!Horse7!"), CSIBIZ_PW_REPETITIVE,
          "unit of 7, twice, case ignored" },
        { S("abcdefghijkabcdefghijk"), CSIBIZ_PW_REPETITIVE,
          "unit of 11, twice" },
        { S("abcdefghijklabcdefghijkl"), CSIBIZ_PW_OK,
          "unit of 12, twice: the unit alone would do" },
        { S("qwertasdfgzq"), CSIBIZ_PW_OK, "period 11 but not two copies" },
        { S("zzzzzzzzzzzzzzzz"), CSIBIZ_PW_REPETITIVE, "one character" },
        { S("aaaabbbbcccc"), CSIBIZ_PW_REPETITIVE, "3 distinct" },
        { S("aabbccddaabb"), CSIBIZ_PW_REPETITIVE, "4 distinct" },
        { S("aabbccddeeaa"), CSIBIZ_PW_OK, "5 distinct" },
        { S("!!!!!!!!!!!!a"), CSIBIZ_PW_REPETITIVE,
          "punctuation and a letter" },
        { S("3456789012345"), CSIBIZ_PW_REPETITIVE,
          "digits up, through 9 -> 0" },
        { S("876543210987"), CSIBIZ_PW_REPETITIVE, "digits down" },
        { S("1122334455667"), CSIBIZ_PW_REPETITIVE,
          "digits up with steps of 0" },
        { S("bcdefghijklmn"), CSIBIZ_PW_REPETITIVE, "letters up" },
        { S("3456-7890-1234"), CSIBIZ_PW_REPETITIVE, "a run with separators" },
        { S("3456789012346"), CSIBIZ_PW_OK, "a run broken once" },
        { S("zyxwvutsrqpo"), CSIBIZ_PW_REPETITIVE, "letters down" },
        { S("zab-cde-fgh-ij"), CSIBIZ_PW_OK, "letters do not wrap around" },
        { S("!@#$%^&*()-+1234"), CSIBIZ_PW_OK,
          "a run that is less than half of the password" },
    };

    is_rc_all(cases, N(cases), &ctx);
}


static void
test_derived(void)
{
    csibiz_date_t           birth;
    csibiz_pw_context_t     c;
    static const pw_case_t  cases[] = {
        { S("11010520100315002X"), CSIBIZ_PW_DERIVED_ID, "the ID" },
        { S("my kid: 11010520100315002x, and a long tail of words"),
          CSIBIZ_PW_DERIVED_ID, "the whole ID inside a long password" },
        { S("15002x-Qwrtyu"), CSIBIZ_PW_DERIVED_ID,
          "last 6 of the ID, half of the core" },
        { S("15002x-Qwrtyuo"), CSIBIZ_PW_OK,
          "last 6 of the ID, less than half" },
        { S("0315002X0315002X"), CSIBIZ_PW_DERIVED_ID,
          "last 8 of the ID, twice" },

        { S("20100315abcd"), CSIBIZ_PW_DERIVED_BIRTH, "YYYYMMDD" },
        { S("2010.03.15-2010.03.15"), CSIBIZ_PW_DERIVED_BIRTH,
          "YYYYMMDD twice with punctuation" },
        { S("100315100315"), CSIBIZ_PW_DERIVED_BIRTH,
          "YYMMDD twice (derived comes before repetitive)" },
        { S("15/03/2010 Lily"), CSIBIZ_PW_DERIVED_BIRTH, "DDMMYYYY" },
        { S("03152010 Lily"), CSIBIZ_PW_DERIVED_BIRTH, "MMDDYYYY" },
        { S("小明20100315的家长很开心啊"), CSIBIZ_PW_OK,
          "birth date in a longer password" },

        { S("13906172845abc"), CSIBIZ_PW_DERIVED_PHONE,
          "the phone, from \"+86 139-0617-2845\"" },
        { S("call 139 0617 2845 at home, says the long password"),
          CSIBIZ_PW_DERIVED_PHONE, "the whole phone with spaces" },
        { S("06172845qwzx"), CSIBIZ_PW_DERIVED_PHONE, "last 8 of the phone" },
        { S("6172845qwzx!"), CSIBIZ_PW_OK, "last 7 is not enough" },
    };

    is_rc_all(cases, N(cases), &ctx);

    /* the birth date from the context, not the ID */
    birth.year = 2011;
    birth.month = 7;
    birth.day = 1;

    c = ctx;
    c.birth = &birth;

    is_rc(S("01072011abcd"), &c, CSIBIZ_PW_DERIVED_BIRTH,
          "DDMMYYYY of the given date");
    is_rc(S("20100315abcd"), &c, CSIBIZ_PW_OK,
          "the ID's date is not used when one is given");

    c.id_number = NULL;
    c.birth = NULL;
    is_rc(S("20100315abcd"), &c, CSIBIZ_PW_OK, "no ID, no birth date");
    is_rc(S("20100315abcd"), NULL, CSIBIZ_PW_OK, "no context");

    c = ctx;
    c.phone = "12345";
    c.phone_len = 5;
    is_rc(S("12345abcdefg"), &c, CSIBIZ_PW_OK,
          "a phone of fewer than 8 digits is ignored");
}


static void
test_ok(void)
{
    static const pw_case_t  cases[] = {
        { S("correct horse battery staple"), CSIBIZ_PW_OK, "a passphrase" },
        { S("Tr0ub4dor&3xyz"), CSIBIZ_PW_OK, "mixed" },
        { S("blue-sky-2010-bicycle"), CSIBIZ_PW_OK, "the birth year alone" },
        { S("春眠不觉晓处处闻啼鸟夜来"), CSIBIZ_PW_OK, "a line of a poem" },
    };

    is_rc_all(cases, N(cases), &ctx);
}


/* strlen, not a fixed length: a name with a tail would fail */

static void
test_names(void)
{
    size_t       i;
    const char  *name;

    static const struct {
        csibiz_pw_rc_t   rc;
        const char      *name;
    } names[] = {
        { CSIBIZ_PW_OK, "ok" },
        { CSIBIZ_PW_TOO_SHORT, "too_short" },
        { CSIBIZ_PW_TOO_LONG, "too_long" },
        { CSIBIZ_PW_BAD_UTF8, "bad_utf8" },
        { CSIBIZ_PW_COMMON, "common" },
        { CSIBIZ_PW_DERIVED_ID, "derived_id" },
        { CSIBIZ_PW_DERIVED_BIRTH, "derived_birth" },
        { CSIBIZ_PW_DERIVED_PHONE, "derived_phone" },
        { CSIBIZ_PW_REPETITIVE, "repetitive" },
    };

    for (i = 0; i < N(names); i++) {
        name = csibiz_password_rc_name(names[i].rc);
        tap_is_str(name, name ? strlen(name) : 0, names[i].name, "name %s",
                   names[i].name);
    }
}
