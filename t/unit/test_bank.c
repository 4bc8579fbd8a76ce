
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


#define S(lit)  (lit), (sizeof(lit) - 1)


static void test_card(void);
static void test_passbook(void);
static void test_rc_names(void);
static void test_name(void);
static void test_address(void);
static void test_contact_phone(void);
static void test_postcode(void);


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


static void
card_is(const char *in, size_t len, csibiz_acct_rc_t want,
    const char *digits, const char *what)
{
    char              out[CSIBIZ_ACCOUNT_NO_SIZE];
    size_t            n;
    csibiz_acct_rc_t  rc;

    n = 0;
    memset(out, 'Z', sizeof(out));

    rc = csibiz_card_number_check(in, len, out, &n);

    tap_is_int(rc, want, "card %s: %s", what, csibiz_acct_rc_name(want));

    if (want == CSIBIZ_ACCT_OK) {
        tap_is_str(out, n, digits, "card %s: digits", what);
        tap_is_int(out[n], '\0', "card %s: NUL-terminated", what);
    }
}


static void
test_card(void)
{
    card_is(S("6222021234567890128"), CSIBIZ_ACCT_OK,
            "6222021234567890128", "19 digits");
    card_is(S("6228480012345671"), CSIBIZ_ACCT_OK, "6228480012345671",
            "16 digits");
    card_is(S("62220212345678903"), CSIBIZ_ACCT_OK, "62220212345678903",
            "17 digits");
    card_is(S("622202123456789012"), CSIBIZ_ACCT_OK, "622202123456789012",
            "18 digits");
    card_is(S("6222 0212 3456 7890 128"), CSIBIZ_ACCT_OK,
            "6222021234567890128", "grouped by spaces");
    card_is(S("6228-4800-1234-5671"), CSIBIZ_ACCT_OK, "6228480012345671",
            "grouped by hyphens");
    card_is(S("\xe3\x80\x80 6228480012345671\t"), CSIBIZ_ACCT_OK,
            "6228480012345671", "trimmed (ideographic space, tab)");

    card_is(S("6228480012345672"), CSIBIZ_ACCT_LUHN, NULL,
            "wrong check digit");
    card_is(S("6222021234567890123"), CSIBIZ_ACCT_LUHN, NULL,
            "19 digits, wrong check digit");
    card_is(S("79927398713"), CSIBIZ_ACCT_LENGTH, NULL,
            "Luhn-valid but 11 digits");
    card_is(S("62220212345678901280"), CSIBIZ_ACCT_LENGTH, NULL,
            "20 digits");
    card_is(S("6222021234567890128000000000000000000000"), CSIBIZ_ACCT_LENGTH,
            NULL, "40 digits: no overflow");
    card_is(S("622848001234567"), CSIBIZ_ACCT_LENGTH, NULL, "15 digits");
    card_is(S("6228 4800 1234 567x"), CSIBIZ_ACCT_FORMAT, NULL, "a letter");
    card_is(S("6228  480012345671"), CSIBIZ_ACCT_FORMAT, NULL,
            "two spaces in a row");
    card_is(S("-6228480012345671"), CSIBIZ_ACCT_FORMAT, NULL,
            "leading hyphen");
    card_is(S("6228480012345671-"), CSIBIZ_ACCT_FORMAT, NULL,
            "trailing hyphen");
    card_is(S("\xef\xbc\x96" "228480012345671"), CSIBIZ_ACCT_FORMAT, NULL,
            "a fullwidth digit");
    card_is(S(""), CSIBIZ_ACCT_FORMAT, NULL, "empty");
    card_is(S("   "), CSIBIZ_ACCT_FORMAT, NULL, "blank");
}


static void
passbook_is(const char *in, size_t len, csibiz_acct_rc_t want,
    const char *digits, const char *what)
{
    char              out[CSIBIZ_ACCOUNT_NO_SIZE];
    size_t            n;
    csibiz_acct_rc_t  rc;

    n = 0;
    rc = csibiz_passbook_number_check(in, len, out, &n);

    tap_is_int(rc, want, "passbook %s: %s", what, csibiz_acct_rc_name(want));

    if (want == CSIBIZ_ACCT_OK) {
        tap_is_str(out, n, digits, "passbook %s: digits", what);
    }
}


static void
test_passbook(void)
{
    passbook_is(S("0200012345678901234"), CSIBIZ_ACCT_OK,
                "0200012345678901234", "19 digits, leading zero kept");
    passbook_is(S(" 12345678 "), CSIBIZ_ACCT_OK, "12345678",
                "8 digits, trimmed");
    passbook_is(S("1234567890123456789012345"), CSIBIZ_ACCT_OK,
                "1234567890123456789012345", "25 digits");
    passbook_is(S("6228480012345672"), CSIBIZ_ACCT_OK, "6228480012345672",
                "no Luhn check");

    passbook_is(S("1234567"), CSIBIZ_ACCT_LENGTH, NULL, "7 digits");
    passbook_is(S("12345678901234567890123456"), CSIBIZ_ACCT_LENGTH, NULL,
                "26 digits");
    passbook_is(S("0200 0123 4567 8901 234"), CSIBIZ_ACCT_FORMAT, NULL,
                "grouped: passbooks are digits only");
    passbook_is(S("0200-01234567"), CSIBIZ_ACCT_FORMAT, NULL, "a hyphen");
    passbook_is(S("02000123456789O1"), CSIBIZ_ACCT_FORMAT, NULL,
                "a letter O for a zero");
    passbook_is(S(""), CSIBIZ_ACCT_FORMAT, NULL, "empty");
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
name_is(const char *in, size_t len, csibiz_text_rc_t want, const char *what)
{
    tap_is_int(csibiz_person_name_check(in, len), want, "name %s: %s", what,
               csibiz_text_rc_name(want));
}


static void
test_name(void)
{
    name_is(S("张三"), CSIBIZ_TEXT_OK, "two Chinese characters");
    name_is(S("欧阳娜娜"), CSIBIZ_TEXT_OK, "four characters");
    name_is(S("阿依古丽·买买提"), CSIBIZ_TEXT_OK, "middle dot U+00B7");
    name_is(S("阿依古丽•买买提"), CSIBIZ_TEXT_OK, "bullet U+2022");
    name_is(S("Mary O'Neil-Smith"), CSIBIZ_TEXT_OK, "Latin, ' and -");
    name_is(S("J. Smith"), CSIBIZ_TEXT_OK, "an initial: \". \"");
    name_is(S("José Müller"), CSIBIZ_TEXT_OK, "Latin-1 letters");
    name_is(S("김민준"), CSIBIZ_TEXT_OK, "Hangul");
    name_is(S("𠀋子"), CSIBIZ_TEXT_OK, "a CJK extension B character");
    name_is(S("abcdefghijabcdefghijabcdefghij"), CSIBIZ_TEXT_OK,
            "30 characters");

    name_is(S("张"), CSIBIZ_TEXT_LENGTH, "one character");
    name_is(S(""), CSIBIZ_TEXT_LENGTH, "empty");
    name_is(S("abcdefghijabcdefghijabcdefghijk"), CSIBIZ_TEXT_LENGTH,
            "31 characters");
    name_is(S("张三3"), CSIBIZ_TEXT_CHARSET, "a digit");
    name_is(S("张三！"), CSIBIZ_TEXT_CHARSET, "fullwidth punctuation");
    name_is(S("张<b>"), CSIBIZ_TEXT_CHARSET, "markup");
    name_is(S("张\n三"), CSIBIZ_TEXT_CHARSET, "a line break");
    name_is(S("张  三"), CSIBIZ_TEXT_CHARSET, "two spaces in a row");
    name_is(S("·张三"), CSIBIZ_TEXT_CHARSET, "leading separator");
    name_is(S("张三-"), CSIBIZ_TEXT_CHARSET, "trailing separator");
    name_is(S("张三\xe3\x80\x80"), CSIBIZ_TEXT_CHARSET,
            "ideographic space (the caller trims)");
    name_is(S("张三\xf0\x9f\x98\x80"), CSIBIZ_TEXT_CHARSET, "an emoji");
    name_is(S("张\xe4\xb8"), CSIBIZ_TEXT_CHARSET, "truncated UTF-8");
    name_is(S("\xc0\xaf\xc0\xaf"), CSIBIZ_TEXT_CHARSET, "overlong UTF-8");
    name_is("张\0三", 7, CSIBIZ_TEXT_CHARSET, "NUL");
    name_is(S("张×三"), CSIBIZ_TEXT_CHARSET, "multiplication sign");
}


static void
address_is(const char *in, size_t len, csibiz_text_rc_t want,
    const char *what)
{
    tap_is_int(csibiz_address_check(in, len), want, "address %s: %s", what,
               csibiz_text_rc_name(want));
}


static void
test_address(void)
{
    address_is(S("北京市海淀区中关村大街1号院2号楼301室"), CSIBIZ_TEXT_OK,
               "digits and Chinese");
    address_is(S("Room 301, No. 1 Zhongguancun St. (East)"), CSIBIZ_TEXT_OK,
               "punctuation");
    address_is(S("北京市东城"), CSIBIZ_TEXT_OK, "5 characters");

    address_is(S("北京市东"), CSIBIZ_TEXT_LENGTH, "4 characters");
    address_is(S("北京市海淀区中关村大街1号院2号楼301室北京市海淀区中关村大街1号院"
                 "2号楼301室北京市海淀区中关村大街1号院2号楼301室北京市海淀区中关"
                 "村大街1号院2号楼301室北京市海淀区中关村大街1号院2号楼"),
               CSIBIZ_TEXT_LENGTH, "101 characters");
    address_is(S("北京市海淀区\n中关村"), CSIBIZ_TEXT_CHARSET, "a line break");
    address_is(S("北京市海淀区\x7f中关村"), CSIBIZ_TEXT_CHARSET, "DEL");
    address_is(S("北京市海淀区\xc2\x85中关村"), CSIBIZ_TEXT_CHARSET,
               "C1 control NEL");
    address_is(S("北京市海淀区\xe2\x80\xa8中关村"), CSIBIZ_TEXT_CHARSET,
               "U+2028");
    address_is(S("<script>北京</script>"), CSIBIZ_TEXT_CHARSET, "markup");
    address_is(S("北京市\"海淀\"区"), CSIBIZ_TEXT_CHARSET, "a double quote");
    address_is(S("北京市海淀区\xff"), CSIBIZ_TEXT_CHARSET, "invalid UTF-8");
}


static void
phone_is(const char *in, size_t len, const char *want, const char *what)
{
    int   rc;
    char  out[CSIBIZ_CONTACT_PHONE_SIZE];

    rc = csibiz_contact_phone_normalize(in, len, out);

    if (want == NULL) {
        tap_is_int(rc, -1, "contact phone %s: refused", what);
        return;
    }

    tap_ok(rc == 0 && strcmp(out, want) == 0, "contact phone %s: %s", what,
           want);
}


static void
test_contact_phone(void)
{
    phone_is(S("13800138000"), "13800138000", "mobile");
    phone_is(S("+8613800138000"), "13800138000", "mobile with +86");
    phone_is(S(" 0086 13800138000"), NULL, "0086 and a space");
    phone_is(S("010-62345678"), "010-62345678", "Beijing landline");
    phone_is(S("01062345678"), "01062345678", "Beijing, no hyphen");
    phone_is(S("0755-12345678"), "0755-12345678", "Shenzhen landline");
    phone_is(S("075512345678"), "075512345678", "Shenzhen, no hyphen");
    phone_is(S("0931-8123456"), "0931-8123456", "7-digit number");
    phone_is(S(" 010-62345678\xe3\x80\x80"), "010-62345678", "trimmed");

    phone_is(S("62345678"), NULL, "no area code");
    phone_is(S("010-02345678"), NULL, "number starting with 0");
    phone_is(S("000-62345678"), NULL, "area code 00");
    phone_is(S("010-623456789"), NULL, "9-digit number");
    phone_is(S("010-623456"), NULL, "6-digit number");
    phone_is(S("010--62345678"), NULL, "two hyphens");
    phone_is(S("010 62345678"), NULL, "a space");
    phone_is(S("01-062345678"), NULL, "hyphen inside the area code");
    phone_is(S("0755-123456789"), NULL, "too long");
    phone_is(S("12800138000"), NULL, "not a mobile prefix");
    phone_is(S(""), NULL, "empty");
}


static void
test_postcode(void)
{
    char  out[8];

    tap_ok(csibiz_postcode_normalize(S("100081"), out) == 0
           && strcmp(out, "100081") == 0, "postcode 100081");
    tap_ok(csibiz_postcode_normalize(S(" 100081\xe3\x80\x80"), out) == 0
           && strcmp(out, "100081") == 0, "postcode trimmed");
    tap_is_int(csibiz_postcode_normalize(S("10008"), out), -1,
               "postcode 5 digits refused");
    tap_is_int(csibiz_postcode_normalize(S("1000811"), out), -1,
               "postcode 7 digits refused");
    tap_is_int(csibiz_postcode_normalize(S("10 0081"), out), -1,
               "postcode with a space refused");
    tap_is_int(csibiz_postcode_normalize(S("10008A"), out), -1,
               "postcode with a letter refused");
}
