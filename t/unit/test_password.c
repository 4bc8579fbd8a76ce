
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


/* a string literal as (pointer, length), embedded NULs included */
#define S(lit)  (lit), (sizeof(lit) - 1)


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
    is_rc(S("correct horse\xff battery"), &ctx, CSIBIZ_PW_BAD_UTF8,
          "0xff");
    is_rc(S("correct horse\xc0\xaf battery"), &ctx, CSIBIZ_PW_BAD_UTF8,
          "overlong '/'");
    is_rc(S("correct horse\xed\xa0\x80 battery"), &ctx, CSIBIZ_PW_BAD_UTF8,
          "surrogate");
    is_rc(S("correct horse\0 battery"), &ctx, CSIBIZ_PW_BAD_UTF8, "NUL");
    is_rc(S("correct horse battery\xe5\xbc"), &ctx, CSIBIZ_PW_BAD_UTF8,
          "truncated at the end");
    is_rc(S("short\xff"), &ctx, CSIBIZ_PW_BAD_UTF8,
          "bad UTF-8 comes before the length");
}


static void
test_common(void)
{
    is_rc(S("123456789012"), &ctx, CSIBIZ_PW_COMMON, "123456789012");
    is_rc(S("Password1234"), &ctx, CSIBIZ_PW_COMMON, "case ignored");
    is_rc(S("PASSWORD1234"), &ctx, CSIBIZ_PW_COMMON, "upper case");
    is_rc(S("P@ssw0rd1234"), &ctx, CSIBIZ_PW_COMMON, "p@ssw0rd1234");
    is_rc(S("1q2w3e4r5t6y"), &ctx, CSIBIZ_PW_COMMON, "1q2w3e4r5t6y");
    is_rc(S("woaini1314520"), &ctx, CSIBIZ_PW_COMMON, "woaini1314520");
    is_rc(S("qwerty 123456"), &ctx, CSIBIZ_PW_COMMON,
          "with a space: the core is on the list");
    is_rc(S("password-1234!"), &ctx, CSIBIZ_PW_COMMON,
          "with punctuation: the core is on the list");
    is_rc(S("\xef\xbd\x91\xef\xbd\x97\xef\xbd\x85\xef\xbd\x92\xef\xbd\x94"
            "\xef\xbd\x99\xef\xbc\x91\xef\xbc\x92\xef\xbc\x93\xef\xbc\x94"
            "\xef\xbc\x95\xef\xbc\x96"),
          &ctx, CSIBIZ_PW_COMMON, "full-width qwerty123456");
    is_rc(S("!qaz@wsx#edc"), &ctx, CSIBIZ_PW_COMMON,
          "punctuation that is part of the entry");
    is_rc(S("qwerty1234567x"), &ctx, CSIBIZ_PW_OK,
          "an entry and more is not on the list");
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
    is_rc(S("xyzxyzxyzxyz"), &ctx, CSIBIZ_PW_REPETITIVE, "unit of 3");
    is_rc(S("xyzxyzxyzxyzx"), &ctx, CSIBIZ_PW_REPETITIVE,
          "last copy cut short");
    is_rc(S("xyz-xyz-xyz-xyz"), &ctx, CSIBIZ_PW_REPETITIVE,
          "unit with a separator");
    is_rc(S("Horse7!Horse7!"), &ctx, CSIBIZ_PW_REPETITIVE,
          "unit of 7, twice, case ignored");
    is_rc(S("abcdefghijkabcdefghijk"), &ctx, CSIBIZ_PW_REPETITIVE,
          "unit of 11, twice");
    is_rc(S("abcdefghijklabcdefghijkl"), &ctx, CSIBIZ_PW_OK,
          "unit of 12, twice: the unit alone would do");
    is_rc(S("qwertasdfgzq"), &ctx, CSIBIZ_PW_OK,
          "period 11 but not two copies");
    is_rc(S("zzzzzzzzzzzzzzzz"), &ctx, CSIBIZ_PW_REPETITIVE,
          "one character");
    is_rc(S("aaaabbbbcccc"), &ctx, CSIBIZ_PW_REPETITIVE, "3 distinct");
    is_rc(S("aabbccddaabb"), &ctx, CSIBIZ_PW_REPETITIVE, "4 distinct");
    is_rc(S("aabbccddeeaa"), &ctx, CSIBIZ_PW_OK, "5 distinct");
    is_rc(S("!!!!!!!!!!!!a"), &ctx, CSIBIZ_PW_REPETITIVE,
          "punctuation and a letter");
    is_rc(S("3456789012345"), &ctx, CSIBIZ_PW_REPETITIVE,
          "digits up, through 9 -> 0");
    is_rc(S("876543210987"), &ctx, CSIBIZ_PW_REPETITIVE, "digits down");
    is_rc(S("1122334455667"), &ctx, CSIBIZ_PW_REPETITIVE,
          "digits up with steps of 0");
    is_rc(S("bcdefghijklmn"), &ctx, CSIBIZ_PW_REPETITIVE, "letters up");
    is_rc(S("3456-7890-1234"), &ctx, CSIBIZ_PW_REPETITIVE,
          "a run with separators");
    is_rc(S("3456789012346"), &ctx, CSIBIZ_PW_OK, "a run broken once");
    is_rc(S("zyxwvutsrqpo"), &ctx, CSIBIZ_PW_REPETITIVE, "letters down");
    is_rc(S("zab-cde-fgh-ij"), &ctx, CSIBIZ_PW_OK,
          "letters do not wrap around");
    is_rc(S("!@#$%^&*()-+1234"), &ctx, CSIBIZ_PW_OK,
          "a run that is less than half of the password");
}


static void
test_derived(void)
{
    csibiz_date_t        birth;
    csibiz_pw_context_t  c;

    is_rc(S("11010520100315002X"), &ctx, CSIBIZ_PW_DERIVED_ID, "the ID");
    is_rc(S("my kid: 11010520100315002x, and a long tail of words"), &ctx,
          CSIBIZ_PW_DERIVED_ID, "the whole ID inside a long password");
    is_rc(S("15002x-Qwrtyu"), &ctx, CSIBIZ_PW_DERIVED_ID,
          "last 6 of the ID, half of the core");
    is_rc(S("15002x-Qwrtyuo"), &ctx, CSIBIZ_PW_OK,
          "last 6 of the ID, less than half");
    is_rc(S("0315002X0315002X"), &ctx, CSIBIZ_PW_DERIVED_ID,
          "last 8 of the ID, twice");

    is_rc(S("20100315abcd"), &ctx, CSIBIZ_PW_DERIVED_BIRTH, "YYYYMMDD");
    is_rc(S("2010.03.15-2010.03.15"), &ctx, CSIBIZ_PW_DERIVED_BIRTH,
          "YYYYMMDD twice with punctuation");
    is_rc(S("100315100315"), &ctx, CSIBIZ_PW_DERIVED_BIRTH,
          "YYMMDD twice (derived comes before repetitive)");
    is_rc(S("15/03/2010 Lily"), &ctx, CSIBIZ_PW_DERIVED_BIRTH, "DDMMYYYY");
    is_rc(S("03152010 Lily"), &ctx, CSIBIZ_PW_DERIVED_BIRTH, "MMDDYYYY");
    is_rc(S("小明20100315的家长很开心啊"), &ctx, CSIBIZ_PW_OK,
          "birth date in a longer password");

    is_rc(S("13906172845abc"), &ctx, CSIBIZ_PW_DERIVED_PHONE,
          "the phone, from \"+86 139-0617-2845\"");
    is_rc(S("call 139 0617 2845 at home, says the long password"), &ctx,
          CSIBIZ_PW_DERIVED_PHONE, "the whole phone with spaces");
    is_rc(S("06172845qwzx"), &ctx, CSIBIZ_PW_DERIVED_PHONE,
          "last 8 of the phone");
    is_rc(S("6172845qwzx!"), &ctx, CSIBIZ_PW_OK, "last 7 is not enough");

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
    is_rc(S("correct horse battery staple"), &ctx, CSIBIZ_PW_OK,
          "a passphrase");
    is_rc(S("Tr0ub4dor&3xyz"), &ctx, CSIBIZ_PW_OK, "mixed");
    is_rc(S("blue-sky-2010-bicycle"), &ctx, CSIBIZ_PW_OK,
          "the birth year alone");
    is_rc(S("春眠不觉晓处处闻啼鸟夜来"), &ctx, CSIBIZ_PW_OK,
          "a line of a poem");
}


static void
test_names(void)
{
    tap_is_str(csibiz_password_rc_name(CSIBIZ_PW_OK), 2, "ok", "name ok");
    tap_is_str(csibiz_password_rc_name(CSIBIZ_PW_TOO_SHORT), 9, "too_short",
               "name too_short");
    tap_is_str(csibiz_password_rc_name(CSIBIZ_PW_TOO_LONG), 8, "too_long",
               "name too_long");
    tap_is_str(csibiz_password_rc_name(CSIBIZ_PW_BAD_UTF8), 8, "bad_utf8",
               "name bad_utf8");
    tap_is_str(csibiz_password_rc_name(CSIBIZ_PW_COMMON), 6, "common",
               "name common");
    tap_is_str(csibiz_password_rc_name(CSIBIZ_PW_DERIVED_ID), 10,
               "derived_id", "name derived_id");
    tap_is_str(csibiz_password_rc_name(CSIBIZ_PW_DERIVED_BIRTH), 13,
               "derived_birth", "name derived_birth");
    tap_is_str(csibiz_password_rc_name(CSIBIZ_PW_DERIVED_PHONE), 13,
               "derived_phone", "name derived_phone");
    tap_is_str(csibiz_password_rc_name(CSIBIZ_PW_REPETITIVE), 10,
               "repetitive", "name repetitive");
}
