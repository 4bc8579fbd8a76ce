
/*
 * The password policy for registration and password changes, after NIST
 * SP 800-63B section 5.1.1.2: a minimum length and no composition rules,
 * but no password from a list of common ones, none made of repetition or
 * a run, and none derived from what anyone who knows the child knows (the
 * ID number, the birth date, the parent's phone).  Plain C, no nginx
 * headers; conventions as in csibiz_utf8.h.
 *
 * Definitions, with n the number of code points of the password:
 *
 *   folded      the password's code points with full-width forms
 *               U+FF01-U+FF5E made ASCII (U+FF11 '1' -> '1'), U+3000 made
 *               a space and ASCII letters made lower case;
 *   core        folded without ASCII characters other than letters and
 *               digits, U+00A0, U+2000-U+206F (general punctuation) and
 *               U+3000-U+303F (CJK symbols and punctuation): what is left
 *               once spaces and punctuation are taken out; m code points.
 *
 *   common      folded, or core, is on a bundled list of over 200 common
 *               passwords of 12 or more characters (ASCII, lower case:
 *               the comparison ignores ASCII case);
 *   repetitive  folded has fewer than 5 distinct code points; or folded
 *               repeats a unit of fewer than 12 code points at least
 *               twice, the last copy possibly cut short ("xyzxyzxyzxyz",
 *               "xyz-xyz-xyz-xyz"), i.e. it has a period p with p < 12
 *               and 2p <= n; or core makes up at least half of the
 *               password (2m >= n) and is all digits or all ASCII letters
 *               going one way by steps of 0 or 1 ("3456789012345",
 *               "1122334455667", "zyxwvutsrqpo"; 9 -> 0 counts as a step
 *               up, 0 -> 9 as a step down, letters do not wrap);
 *   derived     core contains the whole ID number or the whole phone
 *               number; or the occurrences in core of the personal
 *               strings below cover at least half of core's code points.
 *               The personal strings: the ID number's last 6 or more
 *               characters (x in lower case); the phone's last 8 or more
 *               digits; the birth date as YYYYMMDD, YYMMDD, DDMMYYYY and
 *               MMDDYYYY.  For a child born 2010-03-15 "20100315abcd" and
 *               "2010.03.15-2010.03.15" are derived, a password in which
 *               the date is less than half is not.  The reason reported
 *               is derived_id for the whole ID, else derived_phone for
 *               the whole phone, else the kind that covers the most code
 *               points (ID, birth date, phone on a tie).
 *
 * Checks run in the order: too_long for more than
 * CSIBIZ_PASSWORD_MAX_BYTES bytes (before decoding), bad_utf8, too_long,
 * too_short, derived, common, repetitive: the most specific advice for the
 * user comes first.
 */


#ifndef CSIBIZ_PASSWORD_H
#define CSIBIZ_PASSWORD_H


#include <stddef.h>

#include "csibiz_validate.h"


#define CSIBIZ_PASSWORD_MIN_CHARS   12
#define CSIBIZ_PASSWORD_MAX_CHARS   128
/* no password longer than this in bytes can be within the limit */
#define CSIBIZ_PASSWORD_MAX_BYTES   (CSIBIZ_PASSWORD_MAX_CHARS * 4)


typedef enum {
    CSIBIZ_PW_OK = 0,
    CSIBIZ_PW_TOO_SHORT,            /* fewer than 12 code points */
    CSIBIZ_PW_TOO_LONG,             /* more than 128 code points */
    CSIBIZ_PW_BAD_UTF8,             /* not well-formed UTF-8, or a NUL */
    CSIBIZ_PW_COMMON,               /* on the list of common passwords */
    CSIBIZ_PW_DERIVED_ID,           /* from the child's ID number */
    CSIBIZ_PW_DERIVED_BIRTH,        /* from the child's birth date */
    CSIBIZ_PW_DERIVED_PHONE,        /* from the phone number */
    CSIBIZ_PW_REPETITIVE            /* repetition, few characters, a run */
} csibiz_pw_rc_t;


/*
 * What the password must not be derived from; any member may be NULL (or
 * its length 0) when unknown.  The ID number and the phone are taken as
 * given, after dropping everything but ASCII letters and digits (so
 * "+86 138-0013-8000" gives its last 11 digits); an ID number of fewer
 * than 6 such characters, or a phone of fewer than 8 digits, is ignored.
 * Without a birth date, an 18-character ID number's characters 7 to 14
 * are taken as one (YYYYMMDD) when they are digits.
 */
typedef struct {
    const char           *id_number;
    size_t                id_number_len;
    const char           *phone;
    size_t                phone_len;
    const csibiz_date_t  *birth;
} csibiz_pw_context_t;


/*
 * Checks the password pw (len bytes of UTF-8, not NUL-terminated) against
 * the policy above; ctx may be NULL.  The password is not copied or kept;
 * the work buffers are on the stack and wiped before returning.
 */
csibiz_pw_rc_t csibiz_password_check(const char *pw, size_t len,
    const csibiz_pw_context_t *ctx);

/* a stable lower-case code for rc: "ok", "too_short", ... "repetitive" */
const char *csibiz_password_rc_name(csibiz_pw_rc_t rc);


#endif /* CSIBIZ_PASSWORD_H */
