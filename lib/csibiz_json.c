
/*
 * The JSON reader and escaper of csibiz_json.h.  The reader follows the
 * spirit of hiredis's read.c: a cursor over the caller's buffer, one small
 * function per grammar element, each returning a code and leaving the
 * cursor after what it consumed.  Values are flat, so there is no
 * recursion and no depth to exhaust.
 */


#include <limits.h>
#include <string.h>

#include "csibiz_json.h"
#include "csibiz_utf8.h"


typedef struct {
    const char  *pos;
    const char  *end;
    char        *out;               /* the next free byte of scratch */
    size_t       out_left;          /* and how many are left */
} csibiz_json_reader_t;


static void csibiz_json_skip_space(csibiz_json_reader_t *r);
static csibiz_json_rc_t csibiz_json_read_value(csibiz_json_reader_t *r,
    csibiz_json_field_t *field);
static csibiz_json_rc_t csibiz_json_read_string(csibiz_json_reader_t *r,
    const char **s, size_t *len);
static csibiz_json_rc_t csibiz_json_read_escape(csibiz_json_reader_t *r);
static csibiz_json_rc_t csibiz_json_read_number(csibiz_json_reader_t *r,
    const char **s, size_t *len);
static csibiz_json_rc_t csibiz_json_read_literal(csibiz_json_reader_t *r,
    const char *literal, size_t literal_len, const char **s, size_t *len);
static csibiz_json_rc_t csibiz_json_copy(csibiz_json_reader_t *r,
    const char *start, size_t len, const char **s, size_t *n);
static int csibiz_json_hex4(csibiz_json_reader_t *r, uint32_t *value);
static size_t csibiz_json_escape_unit(const char *in, size_t len,
    size_t *consumed, char *unit);


#define CSIBIZ_JSON_IS_DIGIT(c)  ((c) >= '0' && (c) <= '9')


csibiz_json_rc_t
csibiz_json_parse(const char *buf, size_t len, csibiz_json_field_t *fields,
    size_t nfields_max, size_t *nfields, char *scratch, size_t scratch_len)
{
    size_t                 n, i;
    csibiz_json_rc_t       rc;
    csibiz_json_field_t    field;
    csibiz_json_reader_t   r;

    *nfields = 0;

    /* also keeps NULL + 0 (undefined behaviour) out of the arithmetic */
    if (len == 0) {
        return CSIBIZ_JSON_SYNTAX;
    }

    r.pos = buf;
    r.end = buf + len;
    r.out = scratch;
    r.out_left = scratch_len;

    csibiz_json_skip_space(&r);

    if (r.pos == r.end || *r.pos != '{') {
        return CSIBIZ_JSON_SYNTAX;
    }

    r.pos++;
    csibiz_json_skip_space(&r);

    n = 0;

    if (r.pos < r.end && *r.pos == '}') {
        r.pos++;
        goto done;
    }

    for ( ;; ) {

        /* a key: after '{' or ',', so "{,}" and "[1,]" fail here */
        if (r.pos == r.end || *r.pos != '"') {
            return CSIBIZ_JSON_SYNTAX;
        }

        rc = csibiz_json_read_string(&r, &field.key, &field.key_len);
        if (rc != CSIBIZ_JSON_OK) {
            return rc;
        }

        csibiz_json_skip_space(&r);

        if (r.pos == r.end || *r.pos != ':') {
            return CSIBIZ_JSON_SYNTAX;
        }

        r.pos++;
        csibiz_json_skip_space(&r);

        rc = csibiz_json_read_value(&r, &field);
        if (rc != CSIBIZ_JSON_OK) {
            return rc;
        }

        /* keys compare unescaped: "a" and "\u0061" are the same key */
        for (i = 0; i < n; i++) {
            if (fields[i].key_len == field.key_len
                && memcmp(fields[i].key, field.key, field.key_len) == 0)
            {
                return CSIBIZ_JSON_DUPLICATE;
            }
        }

        if (n == nfields_max) {
            return CSIBIZ_JSON_TOO_MANY;
        }

        fields[n++] = field;

        csibiz_json_skip_space(&r);

        if (r.pos == r.end) {
            return CSIBIZ_JSON_SYNTAX;
        }

        if (*r.pos == '}') {
            r.pos++;
            break;
        }

        if (*r.pos != ',') {
            return CSIBIZ_JSON_SYNTAX;
        }

        r.pos++;
        csibiz_json_skip_space(&r);
    }

done:

    csibiz_json_skip_space(&r);

    if (r.pos != r.end) {
        return CSIBIZ_JSON_SYNTAX;
    }

    *nfields = n;

    return CSIBIZ_JSON_OK;
}


const char *
csibiz_json_rc_name(csibiz_json_rc_t rc)
{
    switch (rc) {

    case CSIBIZ_JSON_OK:
        return "ok";

    case CSIBIZ_JSON_SYNTAX:
        return "syntax";

    case CSIBIZ_JSON_BAD_UTF8:
        return "bad_utf8";

    case CSIBIZ_JSON_DUPLICATE:
        return "duplicate";

    case CSIBIZ_JSON_TOO_MANY:
        return "too_many";

    case CSIBIZ_JSON_NESTED:
        return "nested";

    case CSIBIZ_JSON_SCRATCH_FULL:
        return "scratch_full";
    }

    return "unknown";
}


const csibiz_json_field_t *
csibiz_json_find(const csibiz_json_field_t *fields, size_t nfields,
    const char *key)
{
    size_t  i, len;

    len = strlen(key);

    for (i = 0; i < nfields; i++) {
        if (fields[i].key_len == len
            && memcmp(fields[i].key, key, len) == 0)
        {
            return &fields[i];
        }
    }

    return NULL;
}


int
csibiz_json_integer(const csibiz_json_field_t *field, long long *value)
{
    int                 negative;
    size_t              i;
    const char         *s;
    unsigned long long  u, limit, digit;

    if (field->type != CSIBIZ_JSON_NUMBER || field->value_len == 0) {
        return -1;
    }

    s = field->value;
    negative = (s[0] == '-');
    i = negative ? 1 : 0;

    if (i == field->value_len) {
        return -1;
    }

    /* LLONG_MIN has no positive counterpart: one more for negatives */
    limit = (unsigned long long) LLONG_MAX + (negative ? 1 : 0);
    u = 0;

    for ( /* void */ ; i < field->value_len; i++) {
        if (!CSIBIZ_JSON_IS_DIGIT(s[i])) {
            return -1;              /* a fraction or an exponent */
        }

        digit = (unsigned long long) (s[i] - '0');

        if (u > (limit - digit) / 10) {
            return -1;
        }

        u = u * 10 + digit;
    }

    if (negative && u != 0) {
        *value = -(long long) (u - 1) - 1;

    } else {
        *value = (long long) u;
    }

    return 0;
}


size_t
csibiz_json_escape(const char *in, size_t len, char *out, size_t outlen)
{
    int     full;
    char    unit[6];
    size_t  i, n, consumed, total, written;

    total = 0;
    written = 0;
    full = (outlen == 0);

    for (i = 0; i < len; i += consumed) {
        n = csibiz_json_escape_unit(in + i, len - i, &consumed, unit);

        /* whole units only, and none after the first that did not fit */
        if (!full) {
            if (written + n < outlen) {
                memcpy(out + written, unit, n);
                written += n;

            } else {
                full = 1;
            }
        }

        total += n;
    }

    if (outlen > 0) {
        out[written] = '\0';
    }

    return total;
}


static void
csibiz_json_skip_space(csibiz_json_reader_t *r)
{
    while (r->pos < r->end
           && (*r->pos == ' ' || *r->pos == '\t' || *r->pos == '\n'
               || *r->pos == '\r'))
    {
        r->pos++;
    }
}


static csibiz_json_rc_t
csibiz_json_read_value(csibiz_json_reader_t *r, csibiz_json_field_t *field)
{
    const char  **s;
    size_t       *n;

    s = &field->value;
    n = &field->value_len;

    if (r->pos == r->end) {
        return CSIBIZ_JSON_SYNTAX;
    }

    switch (*r->pos) {

    case '"':
        field->type = CSIBIZ_JSON_STRING;
        return csibiz_json_read_string(r, s, n);

    case 't':
        field->type = CSIBIZ_JSON_TRUE;
        return csibiz_json_read_literal(r, "true", 4, s, n);

    case 'f':
        field->type = CSIBIZ_JSON_FALSE;
        return csibiz_json_read_literal(r, "false", 5, s, n);

    case 'n':
        field->type = CSIBIZ_JSON_NULL;
        return csibiz_json_read_literal(r, "null", 4, s, n);

    case '{':
    case '[':
        return CSIBIZ_JSON_NESTED;

    default:
        field->type = CSIBIZ_JSON_NUMBER;
        return csibiz_json_read_number(r, s, n);
    }
}


/* r->pos is at the opening quote */

static csibiz_json_rc_t
csibiz_json_read_string(csibiz_json_reader_t *r, const char **s,
    size_t *len)
{
    size_t            n;
    uint32_t          cp;
    const char       *start;
    csibiz_json_rc_t  rc;

    r->pos++;
    start = r->out;

    for ( ;; ) {

        if (r->pos == r->end) {
            return CSIBIZ_JSON_SYNTAX;      /* unterminated */
        }

        if (*r->pos == '"') {
            r->pos++;
            break;
        }

        if (*r->pos == '\\') {
            rc = csibiz_json_read_escape(r);
            if (rc != CSIBIZ_JSON_OK) {
                return rc;
            }

            continue;
        }

        if ((unsigned char) *r->pos < 0x20) {
            return CSIBIZ_JSON_SYNTAX;      /* raw control character */
        }

        if ((unsigned char) *r->pos < 0x80) {
            n = 1;

        } else {
            n = csibiz_utf8_decode(r->pos, (size_t) (r->end - r->pos), &cp);
            if (n == 0) {
                return CSIBIZ_JSON_BAD_UTF8;
            }
        }

        if (r->out_left < n) {
            return CSIBIZ_JSON_SCRATCH_FULL;
        }

        memcpy(r->out, r->pos, n);
        r->out += n;
        r->out_left -= n;
        r->pos += n;
    }

    if (r->out_left == 0) {
        return CSIBIZ_JSON_SCRATCH_FULL;
    }

    *r->out++ = '\0';
    r->out_left--;

    *s = start;
    *len = (size_t) (r->out - start - 1);

    return CSIBIZ_JSON_OK;
}


/* r->pos is at the backslash; the unescaped text goes to r->out */

static csibiz_json_rc_t
csibiz_json_read_escape(csibiz_json_reader_t *r)
{
    char      c, utf8[CSIBIZ_UTF8_MAX_BYTES];
    size_t    n;
    uint32_t  cp, low;

    r->pos++;

    if (r->pos == r->end) {
        return CSIBIZ_JSON_SYNTAX;
    }

    c = *r->pos++;

    switch (c) {

    case '"':
    case '\\':
    case '/':
        break;

    case 'b':
        c = '\b';
        break;

    case 'f':
        c = '\f';
        break;

    case 'n':
        c = '\n';
        break;

    case 'r':
        c = '\r';
        break;

    case 't':
        c = '\t';
        break;

    case 'u':
        if (csibiz_json_hex4(r, &cp) != 0) {
            return CSIBIZ_JSON_SYNTAX;
        }

        if (cp >= 0xdc00 && cp <= 0xdfff) {
            return CSIBIZ_JSON_BAD_UTF8;    /* a low surrogate first */
        }

        if (cp >= 0xd800 && cp <= 0xdbff) {

            /* a high surrogate: its low half must follow at once */
            if (r->end - r->pos < 2 || r->pos[0] != '\\' || r->pos[1] != 'u')
            {
                return CSIBIZ_JSON_BAD_UTF8;
            }

            r->pos += 2;

            if (csibiz_json_hex4(r, &low) != 0) {
                return CSIBIZ_JSON_SYNTAX;
            }

            if (low < 0xdc00 || low > 0xdfff) {
                return CSIBIZ_JSON_BAD_UTF8;
            }

            cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        }

        if (cp == 0) {
            return CSIBIZ_JSON_BAD_UTF8;
        }

        n = csibiz_utf8_encode(cp, utf8);

        if (r->out_left < n) {
            return CSIBIZ_JSON_SCRATCH_FULL;
        }

        memcpy(r->out, utf8, n);
        r->out += n;
        r->out_left -= n;

        return CSIBIZ_JSON_OK;

    default:
        return CSIBIZ_JSON_SYNTAX;
    }

    if (r->out_left == 0) {
        return CSIBIZ_JSON_SCRATCH_FULL;
    }

    *r->out++ = c;
    r->out_left--;

    return CSIBIZ_JSON_OK;
}


/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, copied as text */

static csibiz_json_rc_t
csibiz_json_read_number(csibiz_json_reader_t *r, const char **s,
    size_t *len)
{
    const char  *start;

    start = r->pos;

    if (r->pos < r->end && *r->pos == '-') {
        r->pos++;
    }

    if (r->pos == r->end || !CSIBIZ_JSON_IS_DIGIT(*r->pos)) {
        return CSIBIZ_JSON_SYNTAX;
    }

    /* a leading 0 stands alone: "01" leaves '1' to fail as trailing */
    if (*r->pos == '0') {
        r->pos++;

    } else {
        while (r->pos < r->end && CSIBIZ_JSON_IS_DIGIT(*r->pos)) {
            r->pos++;
        }
    }

    if (r->pos < r->end && *r->pos == '.') {
        r->pos++;

        if (r->pos == r->end || !CSIBIZ_JSON_IS_DIGIT(*r->pos)) {
            return CSIBIZ_JSON_SYNTAX;
        }

        while (r->pos < r->end && CSIBIZ_JSON_IS_DIGIT(*r->pos)) {
            r->pos++;
        }
    }

    if (r->pos < r->end && (*r->pos == 'e' || *r->pos == 'E')) {
        r->pos++;

        if (r->pos < r->end && (*r->pos == '+' || *r->pos == '-')) {
            r->pos++;
        }

        if (r->pos == r->end || !CSIBIZ_JSON_IS_DIGIT(*r->pos)) {
            return CSIBIZ_JSON_SYNTAX;
        }

        while (r->pos < r->end && CSIBIZ_JSON_IS_DIGIT(*r->pos)) {
            r->pos++;
        }
    }

    return csibiz_json_copy(r, start, (size_t) (r->pos - start), s, len);
}


static csibiz_json_rc_t
csibiz_json_read_literal(csibiz_json_reader_t *r, const char *literal,
    size_t literal_len, const char **s, size_t *len)
{
    const char  *start;

    if ((size_t) (r->end - r->pos) < literal_len
        || memcmp(r->pos, literal, literal_len) != 0)
    {
        return CSIBIZ_JSON_SYNTAX;
    }

    start = r->pos;
    r->pos += literal_len;

    return csibiz_json_copy(r, start, literal_len, s, len);
}


/* copies len bytes of the input into scratch, NUL-terminated */

static csibiz_json_rc_t
csibiz_json_copy(csibiz_json_reader_t *r, const char *start, size_t len,
    const char **s, size_t *n)
{
    if (r->out_left < len + 1) {
        return CSIBIZ_JSON_SCRATCH_FULL;
    }

    memcpy(r->out, start, len);
    r->out[len] = '\0';

    *s = r->out;
    *n = len;
    r->out += len + 1;
    r->out_left -= len + 1;

    return CSIBIZ_JSON_OK;
}


static int
csibiz_json_hex4(csibiz_json_reader_t *r, uint32_t *value)
{
    int       i;
    char      c;
    uint32_t  v;

    if (r->end - r->pos < 4) {
        return -1;
    }

    v = 0;

    for (i = 0; i < 4; i++) {
        c = r->pos[i];

        if (CSIBIZ_JSON_IS_DIGIT(c)) {
            v = (v << 4) | (uint32_t) (c - '0');

        } else if (c >= 'a' && c <= 'f') {
            v = (v << 4) | (uint32_t) (c - 'a' + 10);

        } else if (c >= 'A' && c <= 'F') {
            v = (v << 4) | (uint32_t) (c - 'A' + 10);

        } else {
            return -1;
        }
    }

    r->pos += 4;
    *value = v;

    return 0;
}


/*
 * The escaped form of the character at the start of in, written into
 * unit (6 bytes at most): returns its length and stores how many input
 * bytes it stands for.
 */

static size_t
csibiz_json_escape_unit(const char *in, size_t len, size_t *consumed,
    char *unit)
{
    static const char  hex[] = "0123456789abcdef";

    /* the characters with a two-character escape, and its second one */
    static const char  short_in[] = "\"\\\b\f\n\r\t";
    static const char  short_out[] = "\"\\bfnrt";

    size_t         n;
    uint32_t       cp;
    const char    *e;
    unsigned char  c;

    c = (unsigned char) in[0];
    *consumed = 1;

    /* the length excludes the terminating NUL, which is escaped as \u0000 */
    e = memchr(short_in, c, sizeof(short_in) - 1);

    if (e != NULL) {
        unit[0] = '\\';
        unit[1] = short_out[e - short_in];
        return 2;
    }

    /* '<' '>' '&' would let a string close a <script> or start markup */
    if (c < 0x20 || c == 0x7f || c == '<' || c == '>' || c == '&') {
        memcpy(unit, "\\u00", 4);
        unit[4] = hex[c >> 4];
        unit[5] = hex[c & 0x0f];
        return 6;
    }

    if (c < 0x80) {
        unit[0] = (char) c;
        return 1;
    }

    n = csibiz_utf8_decode(in, len, &cp);

    if (n == 0) {
        memcpy(unit, "\\ufffd", 6);
        return 6;
    }

    *consumed = n;

    /* line separators that JavaScript before ES2019 ends strings at */
    if (cp == 0x2028 || cp == 0x2029) {
        memcpy(unit, cp == 0x2028 ? "\\u2028" : "\\u2029", 6);
        return 6;
    }

    memcpy(unit, in, n);

    return n;
}
