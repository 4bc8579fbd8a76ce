
/*
 * UTF-8 text as the portal accepts it: well-formed (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF) and without NUL, which
 * PostgreSQL text columns cannot hold.  Plain C, no nginx headers.
 *
 * Conventions of lib/: functions named *_valid are predicates and return
 * 1 (true) or 0 (false), like libsodium's *_is_valid_*; functions that do
 * something return 0 on success and -1 on failure, or an enum when the
 * reason matters.  Inputs are (pointer, length) pairs, never assumed to be
 * NUL-terminated; outputs go to caller-provided buffers.
 */


#ifndef CSIBIZ_UTF8_H
#define CSIBIZ_UTF8_H


#include <stddef.h>
#include <stdint.h>


/* the longest encoding of one code point */
#define CSIBIZ_UTF8_MAX_BYTES  4


/*
 * Decodes the character at the start of s.  Returns its length in bytes
 * (1 to 4) and stores the code point, or returns 0 when len is 0 or s does
 * not start with a well-formed character (U+0000 decodes: callers that
 * refuse NUL check for it).
 */
size_t csibiz_utf8_decode(const char *s, size_t len, uint32_t *code_point);

/*
 * Encodes a code point into out, which must have room for
 * CSIBIZ_UTF8_MAX_BYTES; returns the number of bytes written, or 0 for
 * surrogates and values above U+10FFFF.
 */
size_t csibiz_utf8_encode(uint32_t code_point, char *out);

/* 1 when s is well-formed UTF-8 without NUL (the empty string is) */
int csibiz_utf8_valid(const char *s, size_t len);

/*
 * Counts the characters (code points) of s into *count: 0 on success, -1
 * when s is not valid in the sense of csibiz_utf8_valid().
 */
int csibiz_utf8_count(const char *s, size_t len, size_t *count);

/*
 * Narrows (*s, *len) to the text without leading and trailing white space:
 * ASCII space, \t, \n, \v, \f, \r, U+00A0 (no-break space) and U+3000
 * (ideographic space, what Chinese input methods type in full-width mode).
 * Nothing is copied; inner white space is kept.
 */
void csibiz_utf8_trim(const char **s, size_t *len);


#endif /* CSIBIZ_UTF8_H */
