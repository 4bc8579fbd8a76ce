
/*
 * A small, strict JSON reader for request bodies and an escaper for
 * answers.  Plain C, no nginx headers, no allocation: the caller provides
 * the field array and a scratch buffer for unescaped text.
 *
 * The reader accepts one RFC 8259 object of flat members: string, number,
 * true, false and null values.  Anything the portal's API never sends is
 * refused rather than guessed at: nested objects and arrays, duplicate
 * keys, a top level that is not an object, trailing data, a byte order
 * mark, invalid UTF-8, unpaired surrogate escapes and \u0000 (PostgreSQL
 * text cannot hold NUL).
 */


#ifndef CSIBIZ_JSON_H
#define CSIBIZ_JSON_H


#include <stddef.h>


/*
 * The escaper's worst case: every input byte becomes a 6-byte \u00XX (an
 * invalid byte becomes \ufffd, U+2028 three bytes \u2028).  Add 1 for the
 * NUL.
 */
#define CSIBIZ_JSON_ESCAPE_MAX(len)  ((len) * 6)


typedef enum {
    CSIBIZ_JSON_OK = 0,
    CSIBIZ_JSON_SYNTAX,             /* not JSON, or not one object */
    CSIBIZ_JSON_BAD_UTF8,           /* invalid UTF-8, lone surrogate, \u0000 */
    CSIBIZ_JSON_DUPLICATE,          /* a key given twice */
    CSIBIZ_JSON_TOO_MANY,           /* more members than nfields_max */
    CSIBIZ_JSON_NESTED,             /* an object or array as a value */
    CSIBIZ_JSON_SCRATCH_FULL        /* scratch_len too small (< len) */
} csibiz_json_rc_t;


typedef enum {
    CSIBIZ_JSON_STRING = 0,
    CSIBIZ_JSON_NUMBER,
    CSIBIZ_JSON_TRUE,
    CSIBIZ_JSON_FALSE,
    CSIBIZ_JSON_NULL
} csibiz_json_type_t;


/*
 * One member.  key and value point into the scratch buffer and are
 * NUL-terminated, without inner NUL: usable as C strings.  Strings are
 * unescaped UTF-8; a number is its JSON text ("-1.5e3"); true, false and
 * null are their literal text.
 */
typedef struct {
    const char          *key;
    size_t               key_len;
    const char          *value;
    size_t               value_len;
    csibiz_json_type_t   type;
} csibiz_json_field_t;


/*
 * Parses the JSON object in buf into at most nfields_max fields, in
 * document order, and stores their number into *nfields (0 on error).
 * The first error found is returned.  scratch_len >= len always suffices,
 * since unescaping never lengthens text; scratch must outlive the fields.
 */
csibiz_json_rc_t csibiz_json_parse(const char *buf, size_t len,
    csibiz_json_field_t *fields, size_t nfields_max, size_t *nfields,
    char *scratch, size_t scratch_len);

/* a stable lower-case code for rc: "ok", "syntax", "bad_utf8", ... */
const char *csibiz_json_rc_name(csibiz_json_rc_t rc);

/* the field named key (a C string), NULL if there is none */
const csibiz_json_field_t *csibiz_json_find(
    const csibiz_json_field_t *fields, size_t nfields, const char *key);

/*
 * The value of a number field written as an integer ("42", "-7"; no
 * fraction or exponent) into *value: 0, or -1 when field is not such a
 * number or does not fit a long long.
 */
int csibiz_json_integer(const csibiz_json_field_t *field, long long *value);

/*
 * Escapes in as the content of a JSON string (without the quotes), safe
 * inside HTML too: '"', '\\' and control characters are escaped, and so
 * are '<', '>', '&', U+2028 and U+2029 (as \u003c and so on); each byte
 * of invalid UTF-8 becomes \ufffd.  Like snprintf(): writes at most
 * outlen - 1 bytes and a NUL (nothing when outlen is 0, out may then be
 * NULL), never a partial escape, and returns the length of the whole
 * escaped text, without NUL; out was too small when that is >= outlen.
 */
size_t csibiz_json_escape(const char *in, size_t len, char *out,
    size_t outlen);


#endif /* CSIBIZ_JSON_H */
