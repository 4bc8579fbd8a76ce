
/*
 * Unit tests of lib/csibiz_csv.c: complete records and splitting.
 */


#include <string.h>

#include "csibiz_csv.h"
#include "tap.h"


#define FIELDS_MAX  4


static void test_complete(void);
static void split_is(const char *in, int want_rc, size_t want_n,
    const char *want_joined, const char *what);
static void test_split(void);


int
main(void)
{
    test_complete();
    test_split();

    return tap_done();
}


static void
test_complete(void)
{
    tap_ok(csibiz_csv_complete("a,b", 3), "no quotes: complete");
    tap_ok(csibiz_csv_complete("", 0), "empty: complete");
    tap_ok(!csibiz_csv_complete("a,\"b\n", 5), "open quote: incomplete");
    tap_ok(csibiz_csv_complete("a,\"b\nc\"", 7), "closed over two lines");
    tap_ok(csibiz_csv_complete("\"a\"\"b\"", 6), "a doubled quote");
    tap_ok(!csibiz_csv_complete("\"a\"\"", 5), "a doubled quote, open");
    tap_ok(csibiz_csv_complete("a\"b,c", 5),
           "a quote inside an unquoted field opens nothing");
    tap_ok(!csibiz_csv_complete("x,\"a,b", 6), "a quoted field still open");
    tap_ok(csibiz_csv_complete("\"a\"b,c", 7),
           "text after a closing quote: closed");
}


/* the stored fields joined by '|', compared with want_joined */

static void
split_is(const char *in, int want_rc, size_t want_n, const char *want_joined,
    const char *what)
{
    int                  rc;
    char                 buf[128], joined[128];
    size_t               i, n, len, w;
    csibiz_csv_field_t   f[FIELDS_MAX];

    len = strlen(in);
    memcpy(buf, in, len + 1);
    n = 0;

    rc = csibiz_csv_split(buf, len, f, FIELDS_MAX, &n);

    tap_is_int(rc, want_rc, "%s: rc", what);

    if (rc != 0 || want_rc != 0) {
        return;
    }

    tap_is_int((long long) n, (long long) want_n, "%s: fields", what);

    w = 0;

    for (i = 0; i < n && i < FIELDS_MAX; i++) {
        if (i) {
            joined[w++] = '|';
        }

        memcpy(joined + w, f[i].data, f[i].len);
        w += f[i].len;
    }

    tap_is_str(joined, w, want_joined, "%s: values", what);
}


static void
test_split(void)
{
    split_is("a,b,c", 0, 3, "a|b|c", "plain");
    split_is("", 0, 1, "", "empty record: one empty field");
    split_is("a,", 0, 2, "a|", "trailing comma: an empty last field");
    split_is(",,", 0, 3, "||", "only commas");
    split_is("\"a,b\",c", 0, 2, "a,b|c", "comma in quotes");
    split_is("\"say \"\"hi\"\"\",x", 0, 2, "say \"hi\"|x", "doubled quotes");
    split_is("\"l1\nl2\",x", 0, 2, "l1\nl2|x", "line break in quotes");
    split_is("\"\",x", 0, 2, "|x", "empty quoted field");
    split_is("王小明,学生", 0, 2, "王小明|学生", "UTF-8 is bytes");
    split_is("a,b,c,d,e,f", 0, 6, "a|b|c|d", "more fields than max: counted");
    split_is("a\"b,c", -1, 0, "", "quote inside an unquoted field");
    split_is("\"a\"b,c", -1, 0, "", "text after the closing quote");
    split_is("\"abc", -1, 0, "", "unclosed quote");
}
