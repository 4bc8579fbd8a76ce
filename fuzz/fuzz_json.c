
/*
 * The request body reader, as ngx_http_csibiz_request.c calls it (a
 * scratch buffer of exactly the body's length, 32 fields), and the
 * escaper of every answer.  Oracles:
 *
 *   - a scratch of len bytes never runs out (the header's promise);
 *   - an accepted body gives NUL-terminated keys and values without
 *     inner NUL, strings of valid UTF-8, no key twice;
 *   - parse -> re-encode (with csibiz_json_escape()) -> parse gives the
 *     same fields;
 *   - the escaper's output is valid UTF-8 without raw control
 *     characters, '<', '>' or '&', its length is what it returns, a
 *     smaller buffer gets a prefix of it, and valid UTF-8 without NUL
 *     comes back unchanged through a parse.
 */


#include "fuzz.h"

#include "csibiz_json.h"
#include "csibiz_utf8.h"


#define FUZZ_JSON_FIELDS  32


static void fuzz_json_fields(const csibiz_json_field_t *f, size_t n);
static void fuzz_json_reencode(const csibiz_json_field_t *f, size_t n);
static char *fuzz_json_escape(const char *in, size_t len, size_t *outlen);
static void fuzz_json_escaper(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                 *buf, *scratch;
    size_t                n;
    long long             v;
    csibiz_json_rc_t      rc;
    csibiz_json_field_t   fields[FUZZ_JSON_FIELDS];

    buf = fuzz_dup(data, size);
    scratch = fuzz_buf(size);

    rc = csibiz_json_parse(buf, size, fields, FUZZ_JSON_FIELDS, &n,
                           scratch, size);

    FUZZ_CHECK(rc != CSIBIZ_JSON_SCRATCH_FULL);
    FUZZ_CHECK(strcmp(csibiz_json_rc_name(rc), "unknown") != 0);

    if (rc == CSIBIZ_JSON_OK) {
        fuzz_json_fields(fields, n);

        for (size_t i = 0; i < n; i++) {
            (void) csibiz_json_integer(&fields[i], &v);
            FUZZ_CHECK(csibiz_json_find(fields, n, fields[i].key)
                       == &fields[i]);
        }

        fuzz_json_reencode(fields, n);

    } else {
        FUZZ_CHECK(n == 0);
    }

    free(scratch);
    free(buf);

    fuzz_json_escaper(data, size);

    return 0;
}


static void
fuzz_json_fields(const csibiz_json_field_t *f, size_t n)
{
    size_t  i, j;

    for (i = 0; i < n; i++) {
        FUZZ_CHECK(strlen(f[i].key) == f[i].key_len);
        FUZZ_CHECK(strlen(f[i].value) == f[i].value_len);
        FUZZ_CHECK(csibiz_utf8_valid(f[i].key, f[i].key_len));

        if (f[i].type == CSIBIZ_JSON_STRING) {
            FUZZ_CHECK(csibiz_utf8_valid(f[i].value, f[i].value_len));
        }

        for (j = 0; j < i; j++) {
            FUZZ_CHECK(f[j].key_len != f[i].key_len
                       || memcmp(f[j].key, f[i].key, f[i].key_len) != 0);
        }
    }
}


static void
fuzz_json_reencode(const csibiz_json_field_t *f, size_t n)
{
    char                 *doc, *scratch, *k, *v, *p;
    size_t                i, m, len, klen, vlen;
    csibiz_json_rc_t      rc;
    csibiz_json_field_t   again[FUZZ_JSON_FIELDS];

    /* {"k":"v",...}: 6 bytes of syntax per field at most, and the braces */
    len = 2;

    for (i = 0; i < n; i++) {
        len += 6 + CSIBIZ_JSON_ESCAPE_MAX(f[i].key_len)
               + CSIBIZ_JSON_ESCAPE_MAX(f[i].value_len);
    }

    doc = fuzz_buf(len);
    p = doc;
    *p++ = '{';

    for (i = 0; i < n; i++) {
        if (i) {
            *p++ = ',';
        }

        k = fuzz_json_escape(f[i].key, f[i].key_len, &klen);
        *p++ = '"';
        memcpy(p, k, klen);
        p += klen;
        *p++ = '"';
        *p++ = ':';
        free(k);

        if (f[i].type == CSIBIZ_JSON_STRING) {
            v = fuzz_json_escape(f[i].value, f[i].value_len, &vlen);
            *p++ = '"';
            memcpy(p, v, vlen);
            p += vlen;
            *p++ = '"';
            free(v);

        } else {
            memcpy(p, f[i].value, f[i].value_len);
            p += f[i].value_len;
        }
    }

    *p++ = '}';
    len = (size_t) (p - doc);

    scratch = fuzz_buf(len);

    rc = csibiz_json_parse(doc, len, again, FUZZ_JSON_FIELDS, &m,
                           scratch, len);

    FUZZ_CHECK(rc == CSIBIZ_JSON_OK);
    FUZZ_CHECK(m == n);

    for (i = 0; i < n; i++) {
        FUZZ_CHECK(again[i].type == f[i].type);
        FUZZ_CHECK(again[i].key_len == f[i].key_len);
        FUZZ_CHECK(memcmp(again[i].key, f[i].key, f[i].key_len) == 0);
        FUZZ_CHECK(again[i].value_len == f[i].value_len);
        FUZZ_CHECK(memcmp(again[i].value, f[i].value, f[i].value_len) == 0);
    }

    free(scratch);
    free(doc);
}


/* the escaped text in a new buffer of its exact size plus the NUL */

static char *
fuzz_json_escape(const char *in, size_t len, size_t *outlen)
{
    char    *out;
    size_t   total;

    total = csibiz_json_escape(in, len, NULL, 0);
    FUZZ_CHECK(total <= CSIBIZ_JSON_ESCAPE_MAX(len));

    out = fuzz_buf(total + 1);
    FUZZ_CHECK(csibiz_json_escape(in, len, out, total + 1) == total);
    FUZZ_CHECK(strlen(out) == total);

    *outlen = total;

    return out;
}


static void
fuzz_json_escaper(const uint8_t *data, size_t size)
{
    char                 *in, *out, *cut, *doc, *scratch;
    size_t                i, total, outlen, n, nfields;
    csibiz_json_rc_t      rc;
    csibiz_json_field_t   field;

    in = fuzz_dup(data, size);
    out = fuzz_json_escape(in, size, &total);

    FUZZ_CHECK(csibiz_utf8_valid(out, total));

    for (i = 0; i < total; i++) {
        unsigned char  c = (unsigned char) out[i];

        FUZZ_CHECK(c >= 0x20 && c != 0x7f && c != '<' && c != '>'
                   && c != '&');
        FUZZ_CHECK(c != '"' || (i > 0 && out[i - 1] == '\\'));
    }

    /* a buffer cut anywhere holds a prefix of the whole */
    outlen = size ? (size_t) data[0] % (total + 1) : 0;
    cut = fuzz_buf(outlen + 1);
    FUZZ_CHECK(csibiz_json_escape(in, size, cut, outlen + 1) == total);
    FUZZ_CHECK(strlen(cut) <= outlen);
    FUZZ_CHECK(memcmp(cut, out, strlen(cut)) == 0);
    free(cut);

    if (csibiz_utf8_valid(in, size)) {
        n = total + 8;
        doc = fuzz_buf(n);
        memcpy(doc, "{\"k\":\"", 6);
        memcpy(doc + 6, out, total);
        memcpy(doc + 6 + total, "\"}", 2);
        scratch = fuzz_buf(n);

        rc = csibiz_json_parse(doc, n, &field, 1, &nfields, scratch, n);

        FUZZ_CHECK(rc == CSIBIZ_JSON_OK && nfields == 1);
        FUZZ_CHECK(field.value_len == size);
        FUZZ_CHECK(memcmp(field.value, in, size) == 0);

        free(scratch);
        free(doc);
    }

    free(out);
    free(in);
}
