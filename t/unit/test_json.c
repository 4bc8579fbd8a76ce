
/*
 * Unit tests of lib/csibiz_json.c.  Every document is parsed from a heap
 * copy of exactly its length, into a scratch buffer of exactly its length
 * too, so that AddressSanitizer catches any read past the input and any
 * write past the bound the header promises (scratch_len >= len).
 */


#include <stdlib.h>
#include <string.h>

#include "csibiz_json.h"
#include "tap.h"


#define MAX_FIELDS  16


typedef struct {
    csibiz_json_field_t  fields[MAX_FIELDS];
    size_t               nfields;
    char                *input;
    char                *scratch;
} parsed_t;


static csibiz_json_rc_t parse(parsed_t *p, const char *json, size_t len,
    size_t nfields_max);
static void parsed_free(parsed_t *p);
static int field_is(const parsed_t *p, size_t i, const char *key,
    csibiz_json_type_t type, const char *value, size_t value_len);
static void test_ok_documents(void);
static void test_strings(void);
static void test_numbers(void);
static void test_errors(void);
static void test_limits(void);
static void test_huge(void);
static void test_find_and_integer(void);
static void test_escape(void);
static void test_escape_round_trip(void);


int
main(void)
{
    test_ok_documents();
    test_strings();
    test_numbers();
    test_errors();
    test_limits();
    test_huge();
    test_find_and_integer();
    test_escape();
    test_escape_round_trip();

    return tap_done();
}


static csibiz_json_rc_t
parse(parsed_t *p, const char *json, size_t len, size_t nfields_max)
{
    /* malloc(0) may return NULL: keep one byte, but pass len */
    p->input = malloc(len ? len : 1);
    p->scratch = malloc(len ? len : 1);

    if (p->input == NULL || p->scratch == NULL) {
        abort();
    }

    memcpy(p->input, json, len);
    p->nfields = 12345;

    return csibiz_json_parse(p->input, len, p->fields, nfields_max,
                             &p->nfields, p->scratch, len);
}


static void
parsed_free(parsed_t *p)
{
    free(p->input);
    free(p->scratch);
    p->input = NULL;
    p->scratch = NULL;
}


/* field i has this key, type and value, all NUL-terminated as promised */

static int
field_is(const parsed_t *p, size_t i, const char *key,
    csibiz_json_type_t type, const char *value, size_t value_len)
{
    const csibiz_json_field_t  *f;

    if (i >= p->nfields) {
        return 0;
    }

    f = &p->fields[i];

    return f->key_len == strlen(key)
           && memcmp(f->key, key, f->key_len) == 0
           && f->key[f->key_len] == '\0'
           && f->type == type
           && f->value_len == value_len
           && memcmp(f->value, value, value_len) == 0
           && f->value[f->value_len] == '\0';
}


static void
test_ok_documents(void)
{
    parsed_t          p;
    csibiz_json_rc_t  rc;

    rc = parse(&p, S("{}"), MAX_FIELDS);
    tap_ok(rc == CSIBIZ_JSON_OK && p.nfields == 0, "empty object");
    parsed_free(&p);

    rc = parse(&p, S(" \t\r\n{ \t\r\n} \t\r\n"), MAX_FIELDS);
    tap_ok(rc == CSIBIZ_JSON_OK && p.nfields == 0,
           "empty object in all four kinds of white space");
    parsed_free(&p);

    rc = parse(&p, S("{}"), 0);
    tap_ok(rc == CSIBIZ_JSON_OK && p.nfields == 0,
           "empty object with nfields_max 0");
    parsed_free(&p);

    rc = parse(&p, S("{\"name\":\"\xe5\xbc\xa0\xe4\xb8\x89\","
                     "\"age\":12,\"ok\":true,\"no\":false,\"x\":null}"),
               MAX_FIELDS);
    tap_ok(rc == CSIBIZ_JSON_OK && p.nfields == 5, "five fields");
    tap_ok(field_is(&p, 0, "name", CSIBIZ_JSON_STRING,
                    S("\xe5\xbc\xa0\xe4\xb8\x89")), "string field, UTF-8");
    tap_ok(field_is(&p, 1, "age", CSIBIZ_JSON_NUMBER, S("12")),
           "number field as text");
    tap_ok(field_is(&p, 2, "ok", CSIBIZ_JSON_TRUE, S("true")), "true");
    tap_ok(field_is(&p, 3, "no", CSIBIZ_JSON_FALSE, S("false")), "false");
    tap_ok(field_is(&p, 4, "x", CSIBIZ_JSON_NULL, S("null")), "null");
    parsed_free(&p);

    rc = parse(&p, S("{ \"a\" : 1 , \"b\" :\n\"2\"\n}"), MAX_FIELDS);
    tap_ok(rc == CSIBIZ_JSON_OK
           && field_is(&p, 0, "a", CSIBIZ_JSON_NUMBER, S("1"))
           && field_is(&p, 1, "b", CSIBIZ_JSON_STRING, S("2")),
           "white space around every token");
    parsed_free(&p);

    rc = parse(&p, S("{\"\":\"\"}"), MAX_FIELDS);
    tap_ok(rc == CSIBIZ_JSON_OK
           && field_is(&p, 0, "", CSIBIZ_JSON_STRING, S("")),
           "empty key and empty string");
    parsed_free(&p);

    rc = parse(&p, S("{\"a\":1,\"A\":2}"), MAX_FIELDS);
    tap_ok(rc == CSIBIZ_JSON_OK && p.nfields == 2,
           "keys are case-sensitive: a and A are two keys");
    parsed_free(&p);

    rc = parse(&p, S("{\"a\":1}"), MAX_FIELDS);
    tap_ok(rc == CSIBIZ_JSON_OK && p.nfields == 1,
           "scratch of exactly len bytes suffices");
    parsed_free(&p);
}


static void
test_strings(void)
{
    static const struct {
        const char  *json;
        size_t       len;
        const char  *value;
        size_t       value_len;
        const char  *what;
    } cases[] = {
        { S("{\"k\":\"\\\"\\\\\\/\"}"), S("\"\\/"), "quote, backslash, slash" },
        { S("{\"k\":\"\\b\\f\\n\\r\\t\"}"), S("\b\f\n\r\t"),
          "short escapes of control characters" },
        { S("{\"k\":\"\\u0041\\u00e9\\u00E9\"}"), S("A\xc3\xa9\xc3\xa9"),
          "\\u escapes, both cases of hex" },
        { S("{\"k\":\"\\u5f20\\u4E09\"}"), S("\xe5\xbc\xa0\xe4\xb8\x89"),
          "\\u escapes of Chinese" },
        { S("{\"k\":\"\\ud83d\\ude00\"}"), S("\xf0\x9f\x98\x80"),
          "surrogate pair to one 4-byte character" },
        { S("{\"k\":\"\\uD83D\\uDE00!\"}"), S("\xf0\x9f\x98\x80!"),
          "surrogate pair in upper case" },
        { S("{\"k\":\"\\udbff\\udfff\"}"), S("\xf4\x8f\xbf\xbf"),
          "U+10FFFF as a surrogate pair" },
        { S("{\"k\":\"\\ud7ff\\ue000\"}"), S("\xed\x9f\xbf\xee\x80\x80"),
          "U+D7FF and U+E000, around the surrogates" },
        { S("{\"k\":\"\\ud800\\udc00\"}"), S("\xf0\x90\x80\x80"),
          "U+10000, the first surrogate pair" },
        { S("{\"k\":\"\\u0001\\u001f\"}"), S("\x01\x1f"),
          "escaped control characters are allowed" },
        { S("{\"k\":\"\\uffff\\ufffd\"}"), S("\xef\xbf\xbf\xef\xbf\xbd"),
          "U+FFFF and U+FFFD" },
        { S("{\"k\":\"\xf0\x9f\x98\x80\"}"), S("\xf0\x9f\x98\x80"),
          "raw 4-byte UTF-8" },
        { S("{\"k\":\"a\x7f" "b\"}"), S("a\x7f" "b"), "raw DEL is allowed" },
        { S("{\"k\":\"</script>&\"}"), S("</script>&"),
          "markup is data to the reader" },
        { S("{\"\\u006b\":\"v\"}"), S("v"), "escaped key" },
    };

    size_t            i;
    parsed_t          p;
    csibiz_json_rc_t  rc;

    for (i = 0; i < N(cases); i++) {
        rc = parse(&p, cases[i].json, cases[i].len, MAX_FIELDS);
        tap_ok(rc == CSIBIZ_JSON_OK
               && field_is(&p, 0, "k", CSIBIZ_JSON_STRING, cases[i].value,
                           cases[i].value_len),
               "string: %s (%s)", cases[i].what, csibiz_json_rc_name(rc));
        parsed_free(&p);
    }
}


static void
test_numbers(void)
{
    static const char  *ok[] = {
        "0", "-0", "7", "12", "-12", "1.5", "-1.5e10", "1E+2", "1e-2",
        "0.0", "0e0", "10.25E-3", "123456789012345678901234567890"
    };
    static const char  *bad[] = {
        "01", "-", "+1", ".5", "1.", "1e", "1e+", "-01", "0x10", "NaN",
        "Infinity", "-Infinity", "1.2.3", "--1", "1e2e3", "- 1", "00"
    };

    char              json[64];
    size_t            i;
    parsed_t          p;
    csibiz_json_rc_t  rc;

    for (i = 0; i < N(ok); i++) {
        snprintf(json, sizeof(json), "{\"n\":%s}", ok[i]);
        rc = parse(&p, json, strlen(json), MAX_FIELDS);
        tap_ok(rc == CSIBIZ_JSON_OK
               && field_is(&p, 0, "n", CSIBIZ_JSON_NUMBER, ok[i],
                           strlen(ok[i])),
               "number %s", ok[i]);
        parsed_free(&p);
    }

    for (i = 0; i < N(bad); i++) {
        snprintf(json, sizeof(json), "{\"n\":%s}", bad[i]);
        rc = parse(&p, json, strlen(json), MAX_FIELDS);
        tap_ok(rc == CSIBIZ_JSON_SYNTAX && p.nfields == 0,
               "number %s refused as syntax (%s)", bad[i],
               csibiz_json_rc_name(rc));
        parsed_free(&p);
    }

    /* a number that ends the input cannot end the object */
    rc = parse(&p, S("{\"n\":12"), MAX_FIELDS);
    tap_is_int(rc, CSIBIZ_JSON_SYNTAX, "number at the end of the input");
    parsed_free(&p);
}


static void
test_errors(void)
{
    static const struct {
        const char        *json;
        size_t             len;
        csibiz_json_rc_t   rc;
        const char        *what;
    } cases[] = {
        /* not one object */
        { S(""), CSIBIZ_JSON_SYNTAX, "empty input" },
        { S("   \n"), CSIBIZ_JSON_SYNTAX, "only white space" },
        { S("[]"), CSIBIZ_JSON_SYNTAX, "top-level array" },
        { S("\"a\""), CSIBIZ_JSON_SYNTAX, "top-level string" },
        { S("1"), CSIBIZ_JSON_SYNTAX, "top-level number" },
        { S("null"), CSIBIZ_JSON_SYNTAX, "top-level null" },
        { S("\xef\xbb\xbf{}"), CSIBIZ_JSON_SYNTAX, "byte order mark" },
        { S("{}{}"), CSIBIZ_JSON_SYNTAX, "two objects" },
        { S("{} x"), CSIBIZ_JSON_SYNTAX, "trailing garbage" },
        { S("{\"a\":1}}"), CSIBIZ_JSON_SYNTAX, "extra closing brace" },
        { S("{}\0"), CSIBIZ_JSON_SYNTAX, "NUL after the object" },
        { S("\0{}"), CSIBIZ_JSON_SYNTAX, "NUL before the object" },
        { S("{\"a\":1}\xff"), CSIBIZ_JSON_SYNTAX, "byte FF after the object" },
        { S("{}\f"), CSIBIZ_JSON_SYNTAX, "form feed is not JSON space" },
        { S("{\"a\":1}\xe3\x80\x80"), CSIBIZ_JSON_SYNTAX,
          "U+3000 is not JSON space" },

        /* structure */
        { S("{"), CSIBIZ_JSON_SYNTAX, "unterminated object" },
        { S("{\"a\""), CSIBIZ_JSON_SYNTAX, "key without colon" },
        { S("{\"a\":"), CSIBIZ_JSON_SYNTAX, "colon at the end" },
        { S("{\"a\":}"), CSIBIZ_JSON_SYNTAX, "missing value" },
        { S("{\"a\" 1}"), CSIBIZ_JSON_SYNTAX, "missing colon" },
        { S("{\"a\":1 \"b\":2}"), CSIBIZ_JSON_SYNTAX, "missing comma" },
        { S("{\"a\":1,}"), CSIBIZ_JSON_SYNTAX, "trailing comma" },
        { S("{,}"), CSIBIZ_JSON_SYNTAX, "lone comma" },
        { S("{,\"a\":1}"), CSIBIZ_JSON_SYNTAX, "leading comma" },
        { S("{\"a\":1,,\"b\":2}"), CSIBIZ_JSON_SYNTAX, "double comma" },
        { S("{\"a\":1;\"b\":2}"), CSIBIZ_JSON_SYNTAX, "semicolon" },
        { S("{a:1}"), CSIBIZ_JSON_SYNTAX, "unquoted key" },
        { S("{'a':1}"), CSIBIZ_JSON_SYNTAX, "single-quoted key" },
        { S("{\"a\":'x'}"), CSIBIZ_JSON_SYNTAX, "single-quoted value" },
        { S("{1:1}"), CSIBIZ_JSON_SYNTAX, "number as key" },
        { S("{\"a\":1"), CSIBIZ_JSON_SYNTAX, "missing closing brace" },
        { S("{\"a\":tru}"), CSIBIZ_JSON_SYNTAX, "tru" },
        { S("{\"a\":True}"), CSIBIZ_JSON_SYNTAX, "True" },
        { S("{\"a\":nul"), CSIBIZ_JSON_SYNTAX, "nul at the end" },
        { S("{\"a\":falsey}"), CSIBIZ_JSON_SYNTAX, "falsey" },
        { S("{\"a\":undefined}"), CSIBIZ_JSON_SYNTAX, "undefined" },
        { S("{\"a\":1 /* c */}"), CSIBIZ_JSON_SYNTAX, "comment" },
        { S("{\"a\":\0}"), CSIBIZ_JSON_SYNTAX, "NUL as value" },

        /* strings */
        { S("{\"a\":\"x}"), CSIBIZ_JSON_SYNTAX, "unterminated string" },
        { S("{\"a\":\"x\\\"}"), CSIBIZ_JSON_SYNTAX,
          "string ending in an escaped quote" },
        { S("{\"a\":\"x\\"), CSIBIZ_JSON_SYNTAX, "backslash at the end" },
        { S("{\"a\":\"\t\"}"), CSIBIZ_JSON_SYNTAX, "raw tab in a string" },
        { S("{\"a\":\"\n\"}"), CSIBIZ_JSON_SYNTAX, "raw newline in a string" },
        { S("{\"a\":\"x\0y\"}"), CSIBIZ_JSON_SYNTAX, "raw NUL in a string" },
        { S("{\"a\0\":1}"), CSIBIZ_JSON_SYNTAX, "raw NUL in a key" },
        { S("{\"a\":\"\\x41\"}"), CSIBIZ_JSON_SYNTAX, "escape \\x" },
        { S("{\"a\":\"\\'\"}"), CSIBIZ_JSON_SYNTAX, "escape \\'" },
        { S("{\"a\":\"\\U0041\"}"), CSIBIZ_JSON_SYNTAX, "escape \\U" },
        { S("{\"a\":\"\\u12g4\"}"), CSIBIZ_JSON_SYNTAX, "bad hex digit" },
        { S("{\"a\":\"\\u12\"}"), CSIBIZ_JSON_SYNTAX, "short \\u escape" },
        { S("{\"a\":\"\\u12"), CSIBIZ_JSON_SYNTAX, "\\u12 at the end" },
        { S("{\"a\":\"\\ud83d\\u12\"}"), CSIBIZ_JSON_SYNTAX,
          "short low half" },

        /* text the portal cannot store */
        { S("{\"a\":\"\\u0000\"}"), CSIBIZ_JSON_BAD_UTF8, "\\u0000" },
        { S("{\"\\u0000\":1}"), CSIBIZ_JSON_BAD_UTF8, "\\u0000 in a key" },
        { S("{\"a\":\"\\ud83d\"}"), CSIBIZ_JSON_BAD_UTF8,
          "lone high surrogate" },
        { S("{\"a\":\"\\ud83dx\"}"), CSIBIZ_JSON_BAD_UTF8,
          "high surrogate and a letter" },
        { S("{\"a\":\"\\ud83d\\n\"}"), CSIBIZ_JSON_BAD_UTF8,
          "high surrogate and another escape" },
        { S("{\"a\":\"\\ud83d\\u0041\"}"), CSIBIZ_JSON_BAD_UTF8,
          "high surrogate and a non-surrogate" },
        { S("{\"a\":\"\\ud83d\\ud83d\"}"), CSIBIZ_JSON_BAD_UTF8,
          "two high surrogates" },
        { S("{\"a\":\"\\ude00\"}"), CSIBIZ_JSON_BAD_UTF8,
          "lone low surrogate" },
        { S("{\"a\":\"\\udc00\"}"), CSIBIZ_JSON_BAD_UTF8,
          "lone low surrogate U+DC00" },
        { S("{\"a\":\"\\udfff\"}"), CSIBIZ_JSON_BAD_UTF8,
          "lone low surrogate U+DFFF" },
        { S("{\"a\":\"\\udbff\\ue000\"}"), CSIBIZ_JSON_BAD_UTF8,
          "high surrogate and U+E000" },
        { S("{\"a\":\"\\ud800\\udbff\"}"), CSIBIZ_JSON_BAD_UTF8,
          "high surrogate and U+DBFF" },
        { S("{\"a\":\"\\ude00\\ud83d\"}"), CSIBIZ_JSON_BAD_UTF8,
          "surrogates in the wrong order" },
        { S("{\"a\":\"\\ud83d"), CSIBIZ_JSON_BAD_UTF8,
          "high surrogate at the end of the input" },
        { S("{\"a\":\"\xff\"}"), CSIBIZ_JSON_BAD_UTF8, "byte FF" },
        { S("{\"a\":\"\xc0\xaf\"}"), CSIBIZ_JSON_BAD_UTF8, "overlong /" },
        { S("{\"a\":\"\xed\xa0\x80\"}"), CSIBIZ_JSON_BAD_UTF8,
          "UTF-8 encoded surrogate" },
        { S("{\"a\":\"\xf4\x90\x80\x80\"}"), CSIBIZ_JSON_BAD_UTF8,
          "beyond U+10FFFF" },
        { S("{\"a\":\"\xe5\xbc\"}"), CSIBIZ_JSON_BAD_UTF8,
          "truncated character before the quote" },
        { S("{\"a\":\"\xe5\xbc"), CSIBIZ_JSON_BAD_UTF8,
          "truncated character at the end of the input" },
        { S("{\"\x80\":1}"), CSIBIZ_JSON_BAD_UTF8, "invalid UTF-8 in a key" },
        { S("{\xe5\xbc\xa0:1}"), CSIBIZ_JSON_SYNTAX, "unquoted UTF-8 key" },

        /* duplicates */
        { S("{\"a\":1,\"a\":2}"), CSIBIZ_JSON_DUPLICATE, "duplicate key" },
        { S("{\"a\":1,\"b\":2,\"a\":\"1\"}"), CSIBIZ_JSON_DUPLICATE,
          "duplicate key, other type" },
        { S("{\"a\":1,\"\\u0061\":2}"), CSIBIZ_JSON_DUPLICATE,
          "duplicate key once unescaped" },
        { S("{\"\":1,\"\":2}"), CSIBIZ_JSON_DUPLICATE, "duplicate empty key" },

        /* nesting */
        { S("{\"a\":{}}"), CSIBIZ_JSON_NESTED, "nested object" },
        { S("{\"a\":[]}"), CSIBIZ_JSON_NESTED, "nested array" },
        { S("{\"a\":1,\"b\":[1,2]}"), CSIBIZ_JSON_NESTED,
          "nested array after a field" },
        { S("{\"a\":{\"b\":"), CSIBIZ_JSON_NESTED,
          "nested and unterminated: nested comes first" },
    };

    size_t            i;
    parsed_t          p;
    csibiz_json_rc_t  rc;

    for (i = 0; i < N(cases); i++) {
        rc = parse(&p, cases[i].json, cases[i].len, MAX_FIELDS);
        tap_ok(rc == cases[i].rc && p.nfields == 0,
               "refused as %s: %s (got %s)",
               csibiz_json_rc_name(cases[i].rc), cases[i].what,
               csibiz_json_rc_name(rc));
        parsed_free(&p);
    }
}


static void
test_limits(void)
{
    char                 scratch[64];
    size_t               n;
    parsed_t             p;
    csibiz_json_rc_t     rc;
    csibiz_json_field_t  fields[2];

    rc = parse(&p, S("{\"a\":1,\"b\":2}"), 2);
    tap_ok(rc == CSIBIZ_JSON_OK && p.nfields == 2, "exactly nfields_max");
    parsed_free(&p);

    rc = parse(&p, S("{\"a\":1,\"b\":2,\"c\":3}"), 2);
    tap_ok(rc == CSIBIZ_JSON_TOO_MANY && p.nfields == 0,
           "one more than nfields_max");
    parsed_free(&p);

    rc = parse(&p, S("{\"a\":1}"), 0);
    tap_is_int(rc, CSIBIZ_JSON_TOO_MANY, "nfields_max 0 with one field");
    parsed_free(&p);

    /* "{"a":"xyz"}" needs 2 + 4 bytes of scratch */
    rc = csibiz_json_parse(S("{\"a\":\"xyz\"}"), fields, 2, &n, scratch, 6);
    tap_ok(rc == CSIBIZ_JSON_OK && n == 1, "scratch of exactly 6 bytes");
    rc = csibiz_json_parse(S("{\"a\":\"xyz\"}"), fields, 2, &n, scratch, 5);
    tap_ok(rc == CSIBIZ_JSON_SCRATCH_FULL && n == 0,
           "scratch one byte short: scratch_full");
    rc = csibiz_json_parse(S("{\"a\":12345}"), fields, 2, &n, scratch, 7);
    tap_is_int(rc, CSIBIZ_JSON_SCRATCH_FULL, "number: scratch one short");
    rc = csibiz_json_parse(S("{\"a\":\"\\u5f20\"}"), fields, 2, &n, scratch,
                           4);
    tap_is_int(rc, CSIBIZ_JSON_SCRATCH_FULL, "\\u escape: no room for it");
    rc = csibiz_json_parse(S("{\"a\":\"\\n\"}"), fields, 2, &n, scratch, 2);
    tap_is_int(rc, CSIBIZ_JSON_SCRATCH_FULL, "\\n: no room for it");
    rc = csibiz_json_parse(S("{\"a\":\"\\n\"}"), fields, 2, &n, scratch, 3);
    tap_is_int(rc, CSIBIZ_JSON_SCRATCH_FULL, "\\n: no room for the NUL");
    rc = csibiz_json_parse(S("{}"), fields, 2, &n, NULL, 0);
    tap_ok(rc == CSIBIZ_JSON_OK && n == 0, "empty object needs no scratch");

    tap_is_str(csibiz_json_rc_name(CSIBIZ_JSON_BAD_UTF8), 8, "bad_utf8",
               "rc name bad_utf8");
    tap_is_str(csibiz_json_rc_name(CSIBIZ_JSON_TOO_MANY), 8, "too_many",
               "rc name too_many");
}


static void
test_huge(void)
{
    char              *json;
    size_t             len, i, big;
    parsed_t           p;
    csibiz_json_rc_t   rc;

    big = 4 * 1024 * 1024;
    json = malloc(big + 64);
    if (json == NULL) {
        abort();
    }

    /* a 4 MB string value, of 3-byte characters */
    len = 0;
    memcpy(json, "{\"k\":\"", 6);
    len = 6;
    for (i = 0; i < big / 3; i++) {
        memcpy(json + len, "\xe5\xbc\xa0", 3);
        len += 3;
    }
    memcpy(json + len, "\"}", 2);
    len += 2;

    rc = parse(&p, json, len, MAX_FIELDS);
    tap_ok(rc == CSIBIZ_JSON_OK && p.fields[0].value_len == big / 3 * 3,
           "a 4 MB string value");
    parsed_free(&p);

    /* 4 MB of white space around an empty object */
    memset(json, ' ', big);
    json[big / 2] = '{';
    json[big / 2 + 1] = '}';
    rc = parse(&p, json, big, MAX_FIELDS);
    tap_ok(rc == CSIBIZ_JSON_OK && p.nfields == 0,
           "4 MB of white space around {}");
    parsed_free(&p);

    /* deep nesting costs nothing: refused at the first bracket */
    memcpy(json, "{\"a\":", 5);
    memset(json + 5, '[', big - 5);
    rc = parse(&p, json, big, MAX_FIELDS);
    tap_is_int(rc, CSIBIZ_JSON_NESTED, "4 MB of [ refused as nested");
    parsed_free(&p);

    memset(json, '{', big);
    rc = parse(&p, json, big, MAX_FIELDS);
    tap_is_int(rc, CSIBIZ_JSON_SYNTAX, "4 MB of { refused as syntax");
    parsed_free(&p);

    /* 100000 fields, far more than allowed */
    len = 0;
    json[len++] = '{';
    for (i = 0; i < 100000; i++) {
        len += (size_t) snprintf(json + len, big - len, "%s\"k%zu\":%zu",
                                 i ? "," : "", i, i);
    }
    json[len++] = '}';
    rc = parse(&p, json, len, MAX_FIELDS);
    tap_is_int(rc, CSIBIZ_JSON_TOO_MANY, "100000 fields: too_many");
    parsed_free(&p);

    /* ... and as many duplicates of one key */
    len = 0;
    json[len++] = '{';
    for (i = 0; i < 100000; i++) {
        len += (size_t) snprintf(json + len, big - len, "%s\"k\":1",
                                 i ? "," : "");
    }
    json[len++] = '}';
    rc = parse(&p, json, len, MAX_FIELDS);
    tap_is_int(rc, CSIBIZ_JSON_DUPLICATE, "100000 equal keys: duplicate");
    parsed_free(&p);

    free(json);
}


static void
test_find_and_integer(void)
{
    static const struct {
        const char  *json;
        size_t       len;
        int          rc;
        long long    value;
    } ints[] = {
        { S("{\"n\":42}"), 0, 42 },
        { S("{\"n\":-7}"), 0, -7 },
        { S("{\"n\":0}"), 0, 0 },
        { S("{\"n\":-0}"), 0, 0 },
        { S("{\"n\":9223372036854775807}"), 0, 9223372036854775807LL },
        { S("{\"n\":-9223372036854775808}"), 0,
          -9223372036854775807LL - 1 },
        { S("{\"n\":9223372036854775808}"), -1, 0 },
        { S("{\"n\":-9223372036854775809}"), -1, 0 },
        { S("{\"n\":99999999999999999999}"), -1, 0 },
        { S("{\"n\":1.0}"), -1, 0 },
        { S("{\"n\":1e2}"), -1, 0 },
        { S("{\"n\":\"42\"}"), -1, 0 },
        { S("{\"n\":true}"), -1, 0 },
        { S("{\"n\":null}"), -1, 0 },
    };

    int                         rc;
    size_t                      i;
    parsed_t                    p;
    long long                   value;
    const csibiz_json_field_t  *f;

    (void) parse(&p, S("{\"name\":\"x\",\"\\u0069d\":\"y\",\"n\":3}"),
                 MAX_FIELDS);

    f = csibiz_json_find(p.fields, p.nfields, "id");
    tap_ok(f != NULL && f->type == CSIBIZ_JSON_STRING
           && strcmp(f->value, "y") == 0, "find a key given escaped");
    f = csibiz_json_find(p.fields, p.nfields, "n");
    tap_ok(f == &p.fields[2], "find the last key");
    tap_ok(csibiz_json_find(p.fields, p.nfields, "nam") == NULL,
           "find: a prefix does not match");
    tap_ok(csibiz_json_find(p.fields, p.nfields, "names") == NULL,
           "find: a longer key does not match");
    tap_ok(csibiz_json_find(p.fields, p.nfields, "Name") == NULL,
           "find is case-sensitive");
    tap_ok(csibiz_json_find(p.fields, 0, "name") == NULL,
           "find in no fields");
    parsed_free(&p);

    for (i = 0; i < N(ints); i++) {
        (void) parse(&p, ints[i].json, ints[i].len, MAX_FIELDS);
        value = 12345;
        rc = csibiz_json_integer(&p.fields[0], &value);

        if (ints[i].rc == 0) {
            tap_ok(rc == 0 && value == ints[i].value, "integer %.*s",
                   (int) ints[i].len, ints[i].json);

        } else {
            tap_ok(rc == -1 && value == 12345, "integer refused: %.*s",
                   (int) ints[i].len, ints[i].json);
        }

        parsed_free(&p);
    }
}


static void
test_escape(void)
{
    static const tap_str_case_t  cases[] = {
        { S(""), "", "empty" },
        { S("plain ASCII 123"), "plain ASCII 123", "plain ASCII" },
        { S("a\"b\\c/d"), "a\\\"b\\\\c/d", "quote and backslash" },
        { S("\b\f\n\r\t"), "\\b\\f\\n\\r\\t", "short escapes" },
        { S("\x01\x1f\x7f"), "\\u0001\\u001f\\u007f", "other controls" },
        { S("a\0b"), "a\\u0000b", "NUL" },
        { S("<b>&amp;</b>"), "\\u003cb\\u003e\\u0026amp;\\u003c/b\\u003e",
          "< > & for HTML" },
        { S("</script>"), "\\u003c/script\\u003e", "</script>" },
        { S("\xe5\xbc\xa0\xe4\xb8\x89"), "\xe5\xbc\xa0\xe4\xb8\x89",
          "Chinese kept as UTF-8" },
        { S("\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80", "emoji kept" },
        { S("a\xe2\x80\xa8" "b\xe2\x80\xa9" "c"), "a\\u2028b\\u2029c",
          "U+2028 and U+2029" },
        { S("\xe2\x80\xa7\xe2\x80\xaa"), "\xe2\x80\xa7\xe2\x80\xaa",
          "U+2027 and U+202A kept" },
        { S("a\xff" "b"), "a\\ufffdb", "byte FF" },
        { S("\xe5\xbc"), "\\ufffd\\ufffd", "truncated: one per byte" },
        { S("\xc0\xaf"), "\\ufffd\\ufffd", "overlong: one per byte" },
        { S("\xed\xa0\x80"), "\\ufffd\\ufffd\\ufffd", "UTF-8 surrogate" },
    };

    char    out[128];
    size_t  i, n;

    for (i = 0; i < N(cases); i++) {
        memset(out, 'Q', sizeof(out));
        n = csibiz_json_escape(cases[i].in, cases[i].len, out, sizeof(out));
        tap_ok(n == strlen(cases[i].out) && strcmp(out, cases[i].out) == 0,
               "escape: %s", cases[i].what);
    }

    /* sizing like snprintf() */
    n = csibiz_json_escape(S("a<b"), NULL, 0);
    tap_is_int((long long) n, 8, "escape with no buffer returns the length");

    memset(out, 'Q', sizeof(out));
    n = csibiz_json_escape(S("a<b"), out, 9);
    tap_ok(n == 8 && strcmp(out, "a\\u003cb") == 0, "escape: exact fit");

    memset(out, 'Q', sizeof(out));
    n = csibiz_json_escape(S("a<b"), out, 8);
    tap_ok(n == 8 && strcmp(out, "a\\u003c") == 0,
           "escape: one short drops the last unit");

    memset(out, 'Q', sizeof(out));
    n = csibiz_json_escape(S("a<b"), out, 6);
    tap_ok(n == 8 && strcmp(out, "a") == 0,
           "escape: no partial \\u003c");

    memset(out, 'Q', sizeof(out));
    n = csibiz_json_escape(S("a<b"), out, 1);
    tap_ok(n == 8 && out[0] == '\0', "escape: room for the NUL only");

    memset(out, 'Q', sizeof(out));
    n = csibiz_json_escape(S("\xe5\xbc\xa0\xe4\xb8\x89"), out, 5);
    tap_ok(n == 6 && strcmp(out, "\xe5\xbc\xa0") == 0,
           "escape: no partial UTF-8 character");

    memset(out, 'Q', sizeof(out));
    n = csibiz_json_escape(S("<x"), out, 3);
    tap_ok(n == 7 && out[0] == '\0' && out[1] == 'Q',
           "escape: nothing after the first unit that did not fit");

    n = csibiz_json_escape(S("\x01\x01\x01"), NULL, 0);
    tap_ok(n == 18 && n <= CSIBIZ_JSON_ESCAPE_MAX(3),
           "escape: worst case within CSIBIZ_JSON_ESCAPE_MAX");
}


/* escaped text, quoted into a document, reads back as the original */

static void
test_escape_round_trip(void)
{
    static const struct {
        const char  *s;
        size_t       len;
    } cases[] = {
        { S("simple") },
        { S("\"quoted\" \\ back/slash") },
        { S("\x01\x02\b\f\n\r\t\x1f\x7f") },
        { S("<script>alert('x') && 1</script>") },
        { S("\xe5\xbc\xa0\xe4\xb8\x89\xe4\xb8\xb0 \xf0\x9f\x98\x80") },
        { S("\xe2\x80\xa8\xe2\x80\xa9") },
    };

    char              doc[512], escaped[400];
    size_t            i, n;
    parsed_t          p;
    csibiz_json_rc_t  rc;

    for (i = 0; i < N(cases); i++) {
        n = csibiz_json_escape(cases[i].s, cases[i].len, escaped,
                               sizeof(escaped));
        snprintf(doc, sizeof(doc), "{\"k\":\"%s\"}", escaped);
        rc = parse(&p, doc, strlen(doc), MAX_FIELDS);
        tap_ok(n < sizeof(escaped) && rc == CSIBIZ_JSON_OK
               && field_is(&p, 0, "k", CSIBIZ_JSON_STRING, cases[i].s,
                           cases[i].len),
               "round trip %zu", i + 1);
        parsed_free(&p);
    }
}
