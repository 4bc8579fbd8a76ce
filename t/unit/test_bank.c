
/*
 * Unit tests of lib/csibiz_bank.c: card and passbook numbers, account
 * holders' names and addresses, contact phones and postcodes.  The card
 * numbers' check digits were computed independently (Luhn by hand in
 * Python).
 */


#include <stdlib.h>
#include <string.h>

#include "csibiz_bank.h"
#include "tap.h"


/* an account number typed, the answer expected, and on ok its digits */
typedef struct {
    const char        *in;
    size_t             len;
    csibiz_acct_rc_t   rc;
    const char        *digits;
    const char        *what;
} acct_case_t;

/* a name or an address and the answer expected */
typedef struct {
    const char        *in;
    size_t             len;
    csibiz_text_rc_t   rc;
    const char        *what;
} text_case_t;

typedef csibiz_acct_rc_t (*acct_check_pt)(const char *in, size_t len,
    char *out, size_t *outlen);
typedef csibiz_text_rc_t (*text_check_pt)(const char *s, size_t len);
typedef int (*normalize_pt)(const char *in, size_t len, char *out);


static void test_card(void);
static void test_passbook(void);
static void test_rc_names(void);
static void test_name(void);
static void test_address(void);
static void test_contact_phone(void);
static void test_postcode(void);
static void account_is(acct_check_pt check, const char *kind,
    const acct_case_t *cases, size_t n);
static void text_is(text_check_pt check, const char *kind,
    const text_case_t *cases, size_t n);
static void normalized_is(normalize_pt normalize, const char *kind,
    const tap_str_case_t *cases, size_t n);


int
main(void)
{
    test_card();
    test_passbook();
    test_rc_names();
    test_name();
    test_address();
    test_contact_phone();
    test_postcode();

    return tap_done();
}


/* both account numbers are written the same way: digits and a NUL */

static void
account_is(acct_check_pt check, const char *kind, const acct_case_t *cases,
    size_t n)
{
    char              out[CSIBIZ_ACCOUNT_NO_SIZE];
    size_t            i, len;
    csibiz_acct_rc_t  rc;

    for (i = 0; i < n; i++) {
        len = 0;
        memset(out, 'Z', sizeof(out));

        rc = check(cases[i].in, cases[i].len, out, &len);

        tap_is_int(rc, cases[i].rc, "%s %s: %s", kind, cases[i].what,
                   csibiz_acct_rc_name(cases[i].rc));

        if (cases[i].rc == CSIBIZ_ACCT_OK) {
            tap_is_str(out, len, cases[i].digits, "%s %s: digits", kind,
                       cases[i].what);
            tap_is_int(out[len], '\0', "%s %s: NUL-terminated", kind,
                       cases[i].what);
        }
    }
}


static void
test_card(void)
{
    static const acct_case_t  cases[] = {
        { S("6222021234567890128"), CSIBIZ_ACCT_OK, "6222021234567890128",
          "19 digits" },
        { S("6228480012345671"), CSIBIZ_ACCT_OK, "6228480012345671",
          "16 digits" },
        { S("62220212345678903"), CSIBIZ_ACCT_OK, "62220212345678903",
          "17 digits" },
        { S("622202123456789012"), CSIBIZ_ACCT_OK, "622202123456789012",
          "18 digits" },
        { S("6222 0212 3456 7890 128"), CSIBIZ_ACCT_OK, "6222021234567890128",
          "grouped by spaces" },
        { S("6228-4800-1234-5671"), CSIBIZ_ACCT_OK, "6228480012345671",
          "grouped by hyphens" },
        { S("\xe3\x80\x80 6228480012345671\t"), CSIBIZ_ACCT_OK,
          "6228480012345671", "trimmed (ideographic space, tab)" },

        { S("6228480012345672"), CSIBIZ_ACCT_LUHN, NULL, "wrong check digit" },
        { S("6222021234567890123"), CSIBIZ_ACCT_LUHN, NULL,
          "19 digits, wrong check digit" },
        { S("79927398713"), CSIBIZ_ACCT_LENGTH, NULL,
          "Luhn-valid but 11 digits" },
        { S("62220212345678901280"), CSIBIZ_ACCT_LENGTH, NULL, "20 digits" },
        { S("6222021234567890128000000000000000000000"), CSIBIZ_ACCT_LENGTH,
          NULL, "40 digits: no overflow" },
        { S("622848001234567"), CSIBIZ_ACCT_LENGTH, NULL, "15 digits" },
        { S("6228 4800 1234 567x"), CSIBIZ_ACCT_FORMAT, NULL, "a letter" },
        { S("6228  480012345671"), CSIBIZ_ACCT_FORMAT, NULL,
          "two spaces in a row" },
        { S("-6228480012345671"), CSIBIZ_ACCT_FORMAT, NULL, "leading hyphen" },
        { S("6228480012345671-"), CSIBIZ_ACCT_FORMAT, NULL, "trailing hyphen" },
        { S("\xef\xbc\x96" "228480012345671"), CSIBIZ_ACCT_FORMAT, NULL,
          "a fullwidth digit" },
        { S(""), CSIBIZ_ACCT_FORMAT, NULL, "empty" },
        { S("   "), CSIBIZ_ACCT_FORMAT, NULL, "blank" },
    };

    account_is(csibiz_card_number_check, "card", cases, N(cases));
}


static void
test_passbook(void)
{
    static const acct_case_t  cases[] = {
        { S("0200012345678901234"), CSIBIZ_ACCT_OK, "0200012345678901234",
          "19 digits, leading zero kept" },
        { S(" 12345678 "), CSIBIZ_ACCT_OK, "12345678", "8 digits, trimmed" },
        { S("1234567890123456789012345"), CSIBIZ_ACCT_OK,
          "1234567890123456789012345", "25 digits" },
        { S("6228480012345672"), CSIBIZ_ACCT_OK, "6228480012345672",
          "no Luhn check" },

        { S("1234567"), CSIBIZ_ACCT_LENGTH, NULL, "7 digits" },
        { S("12345678901234567890123456"), CSIBIZ_ACCT_LENGTH, NULL,
          "26 digits" },
        { S("0200 0123 4567 8901 234"), CSIBIZ_ACCT_FORMAT, NULL,
          "grouped: passbooks are digits only" },
        { S("0200-01234567"), CSIBIZ_ACCT_FORMAT, NULL, "a hyphen" },
        { S("02000123456789O1"), CSIBIZ_ACCT_FORMAT, NULL,
          "a letter O for a zero" },
        { S(""), CSIBIZ_ACCT_FORMAT, NULL, "empty" },
    };

    account_is(csibiz_passbook_number_check, "passbook", cases, N(cases));
}


static void
test_rc_names(void)
{
    tap_ok(strcmp(csibiz_acct_rc_name(CSIBIZ_ACCT_OK), "ok") == 0
           && strcmp(csibiz_acct_rc_name(CSIBIZ_ACCT_FORMAT), "format") == 0
           && strcmp(csibiz_acct_rc_name(CSIBIZ_ACCT_LENGTH), "length") == 0
           && strcmp(csibiz_acct_rc_name(CSIBIZ_ACCT_LUHN), "luhn") == 0,
           "account number reasons");
    tap_ok(strcmp(csibiz_text_rc_name(CSIBIZ_TEXT_OK), "ok") == 0
           && strcmp(csibiz_text_rc_name(CSIBIZ_TEXT_CHARSET), "charset") == 0
           && strcmp(csibiz_text_rc_name(CSIBIZ_TEXT_LENGTH), "length") == 0,
           "text reasons");
}


static void
text_is(text_check_pt check, const char *kind, const text_case_t *cases,
    size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        tap_is_int(check(cases[i].in, cases[i].len), cases[i].rc,
                   "%s %s: %s", kind, cases[i].what,
                   csibiz_text_rc_name(cases[i].rc));
    }
}


static void
test_name(void)
{
    static const text_case_t  cases[] = {
        { S("张三"), CSIBIZ_TEXT_OK, "two Chinese characters" },
        { S("欧阳娜娜"), CSIBIZ_TEXT_OK, "four characters" },
        { S("阿依古丽·买买提"), CSIBIZ_TEXT_OK, "middle dot U+00B7" },
        { S("阿依古丽•买买提"), CSIBIZ_TEXT_OK, "bullet U+2022" },
        { S("Mary O'Neil-Smith"), CSIBIZ_TEXT_OK, "Latin, ' and -" },
        { S("J. Smith"), CSIBIZ_TEXT_OK, "an initial: \". \"" },
        { S("José Müller"), CSIBIZ_TEXT_OK, "Latin-1 letters" },
        { S("김민준"), CSIBIZ_TEXT_OK, "Hangul" },
        { S("𠀋子"), CSIBIZ_TEXT_OK, "a CJK extension B character" },
        { S("abcdefghijabcdefghijabcdefghij"), CSIBIZ_TEXT_OK,
          "30 characters" },

        { S("张"), CSIBIZ_TEXT_LENGTH, "one character" },
        { S(""), CSIBIZ_TEXT_LENGTH, "empty" },
        { S("abcdefghijabcdefghijabcdefghijk"), CSIBIZ_TEXT_LENGTH,
          "31 characters" },
        { S("张三3"), CSIBIZ_TEXT_CHARSET, "a digit" },
        { S("张三！"), CSIBIZ_TEXT_CHARSET, "fullwidth punctuation" },
        { S("张<b>"), CSIBIZ_TEXT_CHARSET, "markup" },
        { S("张\n三"), CSIBIZ_TEXT_CHARSET, "a line break" },
        { S("张  三"), CSIBIZ_TEXT_CHARSET, "two spaces in a row" },
        { S("·张三"), CSIBIZ_TEXT_CHARSET, "leading separator" },
        { S("张三-"), CSIBIZ_TEXT_CHARSET, "trailing separator" },
        { S("张三\xe3\x80\x80"), CSIBIZ_TEXT_CHARSET,
          "ideographic space (the caller trims)" },
        { S("张三\xf0\x9f\x98\x80"), CSIBIZ_TEXT_CHARSET, "an emoji" },
        { S("张\xe4\xb8"), CSIBIZ_TEXT_CHARSET, "truncated UTF-8" },
        { S("\xc0\xaf\xc0\xaf"), CSIBIZ_TEXT_CHARSET, "overlong UTF-8" },
        { "张\0三", 7, CSIBIZ_TEXT_CHARSET, "NUL" },
        { S("张×三"), CSIBIZ_TEXT_CHARSET, "multiplication sign" },
    };

    text_is(csibiz_person_name_check, "name", cases, N(cases));
}


static void
test_address(void)
{
    static const text_case_t  cases[] = {
        { S("北京市海淀区中关村大街1号院2号楼301室"), CSIBIZ_TEXT_OK,
          "digits and Chinese" },
        { S("Room 301, No. 1 Zhongguancun St. (East)"), CSIBIZ_TEXT_OK,
          "punctuation" },
        { S("北京市东城"), CSIBIZ_TEXT_OK, "5 characters" },

        { S("北京市东"), CSIBIZ_TEXT_LENGTH, "4 characters" },
        { S("北京市海淀区中关村大街1号院2号楼301室北京市海淀区中关村大街1号院"
            "2号楼301室北京市海淀区中关村大街1号院2号楼301室北京市海淀区中关"
            "村大街1号院2号楼301室北京市海淀区中关村大街1号院2号楼"),
          CSIBIZ_TEXT_LENGTH, "101 characters" },
        { S("北京市海淀区\n中关村"), CSIBIZ_TEXT_CHARSET, "a line break" },
        { S("北京市海淀区\x7f中关村"), CSIBIZ_TEXT_CHARSET, "DEL" },
        { S("北京市海淀区\xc2\x85中关村"), CSIBIZ_TEXT_CHARSET,
          "C1 control NEL" },
        { S("北京市海淀区\xe2\x80\xa8中关村"), CSIBIZ_TEXT_CHARSET, "U+2028" },
        { S("<script>北京</script>"), CSIBIZ_TEXT_CHARSET, "markup" },
        { S("北京市\"海淀\"区"), CSIBIZ_TEXT_CHARSET, "a double quote" },
        { S("北京市海淀区\xff"), CSIBIZ_TEXT_CHARSET, "invalid UTF-8" },
    };

    text_is(csibiz_address_check, "address", cases, N(cases));
}


/*
 * A case's out is what the normalizer should write, NULL if it should
 * refuse; the buffer has a contact phone's size, more than a postcode's.
 */

static void
normalized_is(normalize_pt normalize, const char *kind,
    const tap_str_case_t *cases, size_t n)
{
    int     rc;
    char    out[CSIBIZ_CONTACT_PHONE_SIZE];
    size_t  i;

    for (i = 0; i < n; i++) {
        rc = normalize(cases[i].in, cases[i].len, out);

        if (cases[i].out == NULL) {
            tap_is_int(rc, -1, "%s %s: refused", kind, cases[i].what);

        } else {
            tap_ok(rc == 0 && strcmp(out, cases[i].out) == 0, "%s %s: %s",
                   kind, cases[i].what, cases[i].out);
        }
    }
}


static void
test_contact_phone(void)
{
    static const tap_str_case_t  cases[] = {
        { S("13800138000"), "13800138000", "mobile" },
        { S("+8613800138000"), "13800138000", "mobile with +86" },
        { S(" 0086 13800138000"), NULL, "0086 and a space" },
        { S("010-62345678"), "010-62345678", "Beijing landline" },
        { S("01062345678"), "01062345678", "Beijing, no hyphen" },
        { S("0755-12345678"), "0755-12345678", "Shenzhen landline" },
        { S("075512345678"), "075512345678", "Shenzhen, no hyphen" },
        { S("0931-8123456"), "0931-8123456", "7-digit number" },
        { S(" 010-62345678\xe3\x80\x80"), "010-62345678", "trimmed" },

        { S("62345678"), NULL, "no area code" },
        { S("010-02345678"), NULL, "number starting with 0" },
        { S("000-62345678"), NULL, "area code 00" },
        { S("010-623456789"), NULL, "9-digit number" },
        { S("010-623456"), NULL, "6-digit number" },
        { S("010--62345678"), NULL, "two hyphens" },
        { S("010 62345678"), NULL, "a space" },
        { S("01-062345678"), NULL, "hyphen inside the area code" },
        { S("0755-123456789"), NULL, "too long" },
        { S("12800138000"), NULL, "not a mobile prefix" },
        { S(""), NULL, "empty" },
    };

    normalized_is(csibiz_contact_phone_normalize, "contact phone", cases,
                  N(cases));
}


static void
test_postcode(void)
{
    static const tap_str_case_t  cases[] = {
        { S("100081"), "100081", "6 digits" },
        { S(" 100081\xe3\x80\x80"), "100081", "trimmed" },

        { S("10008"), NULL, "5 digits" },
        { S("1000811"), NULL, "7 digits" },
        { S("10 0081"), NULL, "with a space" },
        { S("10008A"), NULL, "with a letter" },
    };

    normalized_is(csibiz_postcode_normalize, "postcode", cases, N(cases));
}
